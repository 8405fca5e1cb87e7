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
            IndexFileReader.WriteHeader(stream, Magic, Version, header);
            Span<byte> word = stackalloc byte[4];
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
        using var reader = new IndexFileReader(path);
        var header = reader.Header(Magic, Version, MaxHeader, _ => "not a Bge index file (no BGEINDEX magic)");
        var remaining = reader.Remaining;
        IndexFormatException Bad(string problem) => reader.Bad(problem);
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
        reader.Stream((long)count * dimension * 4, hash, MemoryMarshal.AsBytes(vectors.AsSpan(0, count * dimension)));
        var texts = reader.Texts(count, hash);
        reader.Checksum(hash.GetHashAndReset(), "payload");
        if (reader.Remaining != 0)
        {
            throw Bad($"{reader.Remaining} unexpected bytes after the payload checksum");
        }

        var index = new EmbeddingIndex(model, dimension, pooling);
        index.AddLoaded(texts, vectors);
        return index;
    }

    private static (string Model, int Dimension, PoolingMode Pooling, int Count) ParseHeader(string path, byte[] header) =>
        IndexFileReader.ParseHeader(path, header, MaxDimension, (root, model, dimension, pooling, count) => (model, dimension, pooling, count));
}
