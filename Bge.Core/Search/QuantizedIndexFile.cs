using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bge.Core.Compression;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>
/// The quantized index file, little-endian: <c>"BGEQUANT"</c> · u32 version (1) · u32 header length H · H bytes of
/// UTF-8 JSON (<c>{"model", "pooling", "form", "dimension", "count", "ranges": {"min", "max"}}</c>) · SHA-256 of the
/// header · the codes (count × bytes per vector) · their SHA-256 · count × (u32 byte length, UTF-8 text) · their SHA-256
/// · zeros to a multiple of 64 bytes · count × dimension float32 vectors · their SHA-256. The vectors come last and
/// aligned so they can be memory-mapped; every length is checked against the file's size before anything is read.
/// </summary>
internal static class QuantizedIndexFile
{
    public const int Version = 1;
    private static readonly byte[] Magic = "BGEQUANT"u8.ToArray();
    private const int MaxHeader = 1 << 22;
    private const int Alignment = 64;

    public static void Write(string path, QuantizedIndex index)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("index files are little-endian");
        }

        var header = new JsonObject
        {
            ["model"] = index.Model,
            ["pooling"] = index.Pooling.ToString().ToLowerInvariant(),
            ["form"] = index.Form == VectorQuantization.Binary ? "binary" : "int8",
            ["dimension"] = index.Dimension,
            ["count"] = index.Count,
        };
        if (index.Ranges is { } ranges)
        {
            header["ranges"] = new JsonObject { ["min"] = new JsonArray([.. ranges.Min.Select(v => (JsonNode)v)]), ["max"] = new JsonArray([.. ranges.Max.Select(v => (JsonNode)v)]) };
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        AtomicFile.Write(path, stream =>
        {
            IndexFileReader.WriteHeader(stream, Magic, Version, headerBytes);
            Span<byte> word = stackalloc byte[4];
            stream.Write(index.Codes);
            stream.Write(SHA256.HashData(index.Codes));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var text in index.Texts)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)bytes.Length);
                stream.Write(word);
                stream.Write(bytes);
                hash.AppendData(word);
                hash.AppendData(bytes);
            }

            stream.Write(hash.GetHashAndReset());
            stream.Write(new byte[Padding(stream.Position)]);
            for (var i = 0; i < index.Count; i++)
            {
                var row = MemoryMarshal.AsBytes(index.Vectors.Row(i));
                stream.Write(row);
                hash.AppendData(row);
            }

            stream.Write(hash.GetHashAndReset());
        });
    }

    public static bool HasMagic(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        Span<byte> magic = stackalloc byte[8];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length && magic.SequenceEqual(Magic);
    }

    private static int Padding(long position) => (int)((Alignment - (position % Alignment)) % Alignment);

    public static QuantizedIndex Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (model, pooling, form, dimension, count, ranges, codes, texts, vectorsAt) = ReadResident(path);
        return new QuantizedIndex(model, pooling, form, dimension, ranges, codes, new RescoringVectors(path, vectorsAt, count, dimension), texts);
    }

    // Everything but the float32 vectors, which are checked by their hash here and mapped by the caller.
    private static (string Model, PoolingMode Pooling, VectorQuantization Form, int Dimension, int Count, QuantizationRanges? Ranges, byte[] Codes, string[] Texts, long VectorsAt) ReadResident(string path)
    {
        using var reader = new IndexFileReader(path);
        var header = reader.Header(Magic, Version, MaxHeader, found => found.AsSpan().SequenceEqual("BGEINDEX"u8)
            ? "a float32 index (EmbeddingIndex), not a quantized one"
            : "not a Bge quantized index file (no BGEQUANT magic)");
        var remaining = reader.Remaining;
        IndexFormatException Bad(string problem) => reader.Bad(problem);
        var (model, pooling, form, dimension, count, ranges) = ParseHeader(path, header);
        var bytesPerVector = form == VectorQuantization.Binary ? (dimension + 7) / 8 : dimension;
        // Codes, vectors and at least 4 bytes per text, plus three checksums, must fit in what is left.
        if ((long)count * (bytesPerVector + (dimension * 4L) + 4) + 96 > remaining)
        {
            throw Bad($"the header promises {count} vectors of {dimension} dimensions, more than the file's {remaining} remaining bytes hold");
        }

        if ((long)count * bytesPerVector > Array.MaxLength)
        {
            throw Bad($"{count} codes of {bytesPerVector} bytes are more than one array holds");
        }

        var codes = reader.Take((long)count * bytesPerVector, "codes");
        reader.Checksum(SHA256.HashData(codes), "codes");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var texts = reader.Texts(count, hash);
        reader.Checksum(hash.GetHashAndReset(), "texts");
        reader.Take(Padding(reader.Position), "padding");
        var vectorsAt = reader.Position;
        var vectorBytes = (long)count * dimension * 4;
        if (reader.Remaining != vectorBytes + 32)
        {
            throw Bad($"{reader.Remaining} bytes after the texts; {count} × {dimension} float32 vectors and their checksum take {vectorBytes + 32}");
        }

        reader.Stream(vectorBytes, hash);
        reader.Checksum(hash.GetHashAndReset(), "vectors");
        return (model, pooling, form, dimension, count, ranges, codes, texts, vectorsAt);
    }

    private static (string Model, PoolingMode Pooling, VectorQuantization Form, int Dimension, int Count, QuantizationRanges? Ranges) ParseHeader(string path, byte[] header) =>
        IndexFileReader.ParseHeader(path, header, 1 << 16, (root, model, dimension, pooling, count) =>
        {
            var form = root.GetProperty("form").GetString() switch
            {
                "binary" => VectorQuantization.Binary,
                "int8" => VectorQuantization.Int8,
                var other => throw new IndexFormatException(path, $"unknown form '{other}' in the header"),
            };
            QuantizationRanges? ranges = null;
            if (form == VectorQuantization.Int8)
            {
                var r = root.GetProperty("ranges");
                float[] Floats(string name) => [.. r.GetProperty(name).EnumerateArray().Select(v => v.GetSingle())];
                ranges = new QuantizationRanges(Floats("min"), Floats("max"));
                if (ranges.Dimension != dimension)
                {
                    throw new IndexFormatException(path, $"the header's ranges have {ranges.Dimension} dimensions, its vectors {dimension}");
                }
            }

            return (model, pooling, form, dimension, count, ranges);
        });
}
