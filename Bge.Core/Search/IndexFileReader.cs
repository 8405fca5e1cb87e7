using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>
/// Reading an index file front to back, as both index formats share it: every length checked against what is left
/// before anything is allocated for it, each failure an <see cref="IndexFormatException"/> naming the file and the part.
/// </summary>
internal sealed class IndexFileReader : IDisposable
{
    private readonly FileStream _stream;

    public IndexFileReader(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Remaining = _stream.Length;
    }

    public string Path { get; }

    public long Remaining { get; private set; }

    public long Position => _stream.Position;

    public IndexFormatException Bad(string problem) => new(Path, problem);

    /// <summary>Moves to <paramref name="position"/>, which the caller has checked lies within the file.</summary>
    public void Seek(long position)
    {
        var length = _stream.Length;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, length);
        _stream.Position = position;
        Remaining = length - position;
    }

    public byte[] Take(long count, string what)
    {
        if (count < 0 || count > Remaining)
        {
            throw Bad($"the file ends inside the {what} (needs {count} bytes at offset {_stream.Position}, {Remaining} left)");
        }

        var bytes = new byte[count];
        _stream.ReadExactly(bytes);
        Remaining -= count;
        return bytes;
    }

    public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

    /// <summary>The magic, version, header length and header, its checksum checked; the header's bytes.</summary>
    public byte[] Header(ReadOnlySpan<byte> magic, int version, int maxHeader, Func<byte[], string> wrongMagic)
    {
        var found = Take(Math.Min(Remaining, magic.Length), "magic");
        if (!found.AsSpan().SequenceEqual(magic))
        {
            throw Bad(wrongMagic(found));
        }

        var fileVersion = U32("version");
        if (fileVersion != version)
        {
            throw Bad($"index format version {fileVersion}; this library reads version {version}");
        }

        var length = U32("header length");
        if (length > maxHeader)
        {
            throw Bad($"header length {length} is implausible (at most {maxHeader})");
        }

        var header = Take(length, "header");
        Checksum(SHA256.HashData(header), "header");
        return header;
    }

    /// <summary>What <see cref="Header"/> reads: magic, version, header length, header and its SHA-256.</summary>
    public static void WriteHeader(Stream stream, ReadOnlySpan<byte> magic, int version, byte[] header)
    {
        Span<byte> word = stackalloc byte[4];
        stream.Write(magic);
        BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)version);
        stream.Write(word);
        BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)header.Length);
        stream.Write(word);
        stream.Write(header);
        stream.Write(SHA256.HashData(header));
    }

    /// <summary>Reads the next 32 bytes and checks they are <paramref name="expected"/>.</summary>
    public void Checksum(ReadOnlySpan<byte> expected, string what)
    {
        if (!expected.SequenceEqual(Take(32, what + " checksum")))
        {
            throw Bad($"the {what} checksum does not match: the file is corrupt");
        }
    }

    /// <summary><paramref name="count"/> texts, each a u32 byte length and UTF-8, added to <paramref name="hash"/> as read.</summary>
    public string[] Texts(int count, IncrementalHash hash)
    {
        var texts = new string[count];
        var utf8 = new UTF8Encoding(false, true);
        for (var i = 0; i < count; i++)
        {
            var lengthBytes = Take(4, $"length of text {i}");
            hash.AppendData(lengthBytes);
            var textBytes = Take(BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes), $"text {i}");
            hash.AppendData(textBytes);
            try
            {
                texts[i] = utf8.GetString(textBytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new IndexFormatException(Path, $"text {i} is not valid UTF-8", e);
            }
        }

        return texts;
    }

    /// <summary>Reads <paramref name="count"/> bytes into <paramref name="destination"/> (when given) and <paramref name="hash"/>.</summary>
    public void Stream(long count, IncrementalHash hash, Span<byte> destination = default)
    {
        if (count > Remaining)
        {
            throw Bad($"the file ends inside the vectors (needs {count} bytes, {Remaining} left)");
        }

        var buffer = new byte[1 << 20];
        for (long done = 0; done < count;)
        {
            var chunk = (int)Math.Min(count - done, buffer.Length);
            _stream.ReadExactly(buffer, 0, chunk);
            hash.AppendData(buffer, 0, chunk);
            if (!destination.IsEmpty)
            {
                buffer.AsSpan(0, chunk).CopyTo(destination[(int)done..]);
            }

            done += chunk;
        }

        Remaining -= count;
    }

    /// <summary>
    /// The header's JSON with the fields both formats hold (model, dimension, count, pooling) checked, the rest read by
    /// <paramref name="rest"/>; any failure an <see cref="IndexFormatException"/> naming the file.
    /// </summary>
    public static T ParseHeader<T>(string path, byte[] header, int maxDimension, Func<JsonElement, string, int, PoolingMode, int, T> rest)
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
            if (string.IsNullOrEmpty(model) || dimension < 1 || dimension > maxDimension || count < 0)
            {
                throw Bad($"header values out of range (model '{model}', dimension {dimension}, count {count})");
            }

            return rest(root, model, dimension, pooling, count);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new IndexFormatException(path, $"the header is not the expected JSON ({e.Message})", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
