using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>An index file that is not one, is from a newer format, is corrupt, or belongs to another model.</summary>
public sealed class IndexFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IndexFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }
}

/// <summary>
/// The index file format, little-endian:
/// <c>"BGEINDEX"</c> · u32 version (1) · u32 header length H · H bytes of UTF-8 JSON
/// (<c>{"model", "dimension", "pooling", "count"}</c>) · SHA-256 of the header ·
/// count × dimension float32 vectors, then count × (u32 byte length, UTF-8 text) · SHA-256 of that payload.
/// Every length is checked against the file's size before anything is allocated for it.
/// </summary>
internal static class IndexFile
{
    public const int Version = 1;
    private static readonly byte[] Magic = "BGEINDEX"u8.ToArray();
    private const int MaxHeader = 1 << 16;
    private const int MaxDimension = 1 << 16;

    public static void Write(string path, EmbeddingIndex index)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("index files are little-endian");
        }

        var header = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["model"] = index.Model,
            ["dimension"] = index.Dimension,
            ["pooling"] = index.Pooling.ToString().ToLowerInvariant(),
            ["count"] = index.Count,
        }.ToJsonString());
        AtomicFile.Write(path, stream =>
        {
            Span<byte> word = stackalloc byte[4];
            stream.Write(Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(word, Version);
            stream.Write(word);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)header.Length);
            stream.Write(word);
            stream.Write(header);
            stream.Write(SHA256.HashData(header));
            using var payload = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Emit(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                payload.AppendData(bytes);
            }

            Emit(MemoryMarshal.AsBytes(index.AllVectors));
            foreach (var text in index.Texts)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)bytes.Length);
                Emit(word);
                Emit(bytes);
            }

            stream.Write(payload.GetHashAndReset());
        });
    }

    public static EmbeddingIndex Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var remaining = stream.Length;
        IndexFormatException Bad(string problem) => new(path, problem);

        byte[] Take(long count, string what)
        {
            if (count < 0 || count > remaining)
            {
                throw Bad($"the file ends inside the {what} (needs {count} bytes at offset {stream.Position}, {remaining} left)");
            }

            var bytes = new byte[count];
            stream.ReadExactly(bytes);
            remaining -= count;
            return bytes;
        }

        uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        if (!Take(Math.Min(remaining, Magic.Length), "magic").AsSpan().SequenceEqual(Magic))
        {
            throw Bad("not a Bge index file (no BGEINDEX magic)");
        }

        var version = U32("version");
        if (version != Version)
        {
            throw Bad($"index format version {version}; this library reads version {Version}");
        }

        var headerLength = U32("header length");
        if (headerLength > MaxHeader)
        {
            throw Bad($"header length {headerLength} is implausible (at most {MaxHeader})");
        }

        var header = Take(headerLength, "header");
        if (!SHA256.HashData(header).AsSpan().SequenceEqual(Take(32, "header checksum")))
        {
            throw Bad("the header checksum does not match: the file is corrupt");
        }

        var (model, dimension, pooling, count) = ParseHeader(path, header);
        // Vectors and at least 4 bytes per text, plus the checksum, must fit in what is left.
        if ((long)count * ((dimension * 4L) + 4) + 32 > remaining)
        {
            throw Bad($"the header promises {count} × {dimension} embeddings, more than the file's {remaining} remaining bytes hold");
        }

        if ((long)count * dimension > Array.MaxLength)
        {
            throw Bad($"{count} × {dimension} embeddings are more than one array holds");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var vectors = new float[Math.Max(1, count * dimension)];
        var vectorBytes = MemoryMarshal.AsBytes(vectors.AsSpan(0, count * dimension));
        stream.ReadExactly(vectorBytes);
        remaining -= vectorBytes.Length;
        hash.AppendData(vectorBytes);
        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            var lengthBytes = Take(4, $"length of text {i}");
            hash.AppendData(lengthBytes);
            var textBytes = Take(BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes), $"text {i}");
            hash.AppendData(textBytes);
            try
            {
                texts[i] = new UTF8Encoding(false, true).GetString(textBytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new IndexFormatException(path, $"text {i} is not valid UTF-8", e);
            }
        }

        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(Take(32, "payload checksum")))
        {
            throw Bad("the payload checksum does not match: the file is corrupt");
        }

        if (remaining != 0)
        {
            throw Bad($"{remaining} unexpected bytes after the payload checksum");
        }

        var index = new EmbeddingIndex(model, dimension, pooling);
        index.AddLoaded(texts, vectors);
        return index;
    }

    private static (string Model, int Dimension, PoolingMode Pooling, int Count) ParseHeader(string path, byte[] header)
    {
        IndexFormatException Bad(string problem) => new(path, problem);
        try
        {
            using var json = JsonDocument.Parse(header);
            var root = json.RootElement;
            var model = root.GetProperty("model").GetString();
            var dimension = root.GetProperty("dimension").GetInt32();
            var count = root.GetProperty("count").GetInt32();
            var pooling = root.GetProperty("pooling").GetString() switch
            {
                "cls" => PoolingMode.Cls,
                "mean" => PoolingMode.Mean,
                var other => throw Bad($"unknown pooling '{other}' in the header"),
            };
            if (string.IsNullOrEmpty(model) || dimension < 1 || dimension > MaxDimension || count < 0)
            {
                throw Bad($"header values out of range (model '{model}', dimension {dimension}, count {count})");
            }

            return (model, dimension, pooling, count);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new IndexFormatException(path, $"the header is not the expected JSON ({e.Message})", e);
        }
    }
}
