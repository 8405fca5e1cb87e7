using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Bge.Core.Compression;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>
/// The quantized index file, little-endian. Version 2, written by <see cref="QuantizedIndexWriter"/> so the float32
/// vectors stream straight into place: <c>"BGEQUANT"</c> · u32 version · u32 0 · u64 offset T of the trailer · zeros to
/// byte 64 · count × dimension float32 vectors (aligned, memory-mapped) · the codes (count × bytes per vector) · count ×
/// (u32 byte length, UTF-8 text) · at T: u32 header length H · H bytes of UTF-8 JSON (<c>{"model", "pooling", "form",
/// "dimension", "count", "ranges": {"min", "max"}}</c>) · SHA-256 of the header, of the vectors, of the codes and of
/// the texts; the file ends there. Version 1 (read, no longer written) put the header first: magic · u32 version ·
/// u32 H · header · its SHA-256 · codes · SHA-256 · texts · SHA-256 · zeros to a multiple of 64 · vectors · SHA-256.
/// Every length is checked against the file's size before anything is read.
/// </summary>
internal static class QuantizedIndexFile
{
    public const int Version = 2;
    public const int VectorsAt = 64;
    public const int MaxDimension = 1 << 16;
    private static readonly byte[] Magic = "BGEQUANT"u8.ToArray();
    private const int MaxHeader = 1 << 22;
    private const int Alignment = 64;

    public static byte[] Header(string model, PoolingMode pooling, VectorQuantization form, int dimension, int count, QuantizationRanges? ranges)
    {
        var header = new JsonObject
        {
            ["model"] = model,
            ["pooling"] = pooling.ToString().ToLowerInvariant(),
            ["form"] = form == VectorQuantization.Binary ? "binary" : "int8",
            ["dimension"] = dimension,
            ["count"] = count,
        };
        if (ranges is not null)
        {
            header["ranges"] = new JsonObject { ["min"] = new JsonArray([.. ranges.Min.Select(v => (JsonNode)v)]), ["max"] = new JsonArray([.. ranges.Max.Select(v => (JsonNode)v)]) };
        }

        return Encoding.UTF8.GetBytes(header.ToJsonString());
    }

    public static void WritePreamble(Stream stream, long trailer)
    {
        Span<byte> preamble = stackalloc byte[24];
        Magic.CopyTo(preamble);
        BinaryPrimitives.WriteUInt32LittleEndian(preamble[8..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(preamble[16..], (ulong)trailer);
        stream.Write(preamble);
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

    public static QuantizedIndex Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new IndexFileReader(path);
        var found = reader.Take(Math.Min(reader.Remaining, Magic.Length), "magic");
        if (!found.AsSpan().SequenceEqual(Magic))
        {
            throw reader.Bad(found.AsSpan().SequenceEqual("BGEINDEX"u8) ? "a float32 index (EmbeddingIndex), not a quantized one" : "not a Bge quantized index file (no BGEQUANT magic)");
        }

        var version = reader.U32("version");
        var (header, codes, texts, vectorsAt) = version switch
        {
            1 => ReadVersion1(reader),
            2 => ReadVersion2(reader),
            _ => throw reader.Bad($"index format version {version}; this library reads versions 1 and 2"),
        };
        return new QuantizedIndex(header.Model, header.Pooling, header.Form, header.Dimension, header.Ranges, codes, new RescoringVectors(path, vectorsAt, header.Count, header.Dimension), texts);
    }

    private static (Fields Header, CodeRows Codes, string[] Texts, long VectorsAt) ReadVersion2(IndexFileReader reader)
    {
        reader.U32("reserved word");
        var length = reader.Position + reader.Remaining;
        var trailer = BinaryPrimitives.ReadInt64LittleEndian(reader.Take(8, "trailer offset"));
        if (trailer < VectorsAt || trailer > length - 4 - 128)
        {
            throw reader.Bad($"the trailer offset {trailer} lies outside the file's {length} bytes");
        }

        reader.Seek(trailer);
        var headerLength = reader.U32("header length");
        if (headerLength > MaxHeader || trailer + 4 + headerLength + 128 != length)
        {
            throw reader.Bad($"a header of {headerLength} bytes and four checksums do not end the file at {length} bytes: it is truncated or corrupt");
        }

        var headerBytes = reader.Take(headerLength, "header");
        reader.Checksum(SHA256.HashData(headerBytes), "header");
        var header = ParseHeader(reader.Path, headerBytes);
        var vectorHash = reader.Take(32, "vectors checksum");
        var codeHash = reader.Take(32, "codes checksum");
        var textHash = reader.Take(32, "texts checksum");
        var vectorBytes = (long)header.Count * header.Dimension * sizeof(float);
        var codeBytes = (long)header.Count * header.BytesPerVector;
        var textBytes = trailer - VectorsAt - vectorBytes - codeBytes;
        if (textBytes < 4L * header.Count)
        {
            throw reader.Bad($"the header promises {header.Count} vectors of {header.Dimension} dimensions, more than the file's {trailer - VectorsAt} bytes before its trailer hold");
        }

        reader.Seek(VectorsAt + vectorBytes);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var codes = ReadCodes(reader, header, hash);
        Check(reader, hash, codeHash, "codes");
        var texts = reader.Texts(header.Count, hash);
        if (reader.Position != trailer)
        {
            throw reader.Bad($"{trailer - reader.Position} bytes between the last text and the trailer");
        }

        Check(reader, hash, textHash, "texts");
        reader.Seek(VectorsAt);
        reader.Stream(vectorBytes, hash);
        Check(reader, hash, vectorHash, "vectors");
        return (header, codes, texts, VectorsAt);
    }

    private static (Fields Header, CodeRows Codes, string[] Texts, long VectorsAt) ReadVersion1(IndexFileReader reader)
    {
        var headerLength = reader.U32("header length");
        if (headerLength > MaxHeader)
        {
            throw reader.Bad($"header length {headerLength} is implausible (at most {MaxHeader})");
        }

        var headerBytes = reader.Take(headerLength, "header");
        reader.Checksum(SHA256.HashData(headerBytes), "header");
        var header = ParseHeader(reader.Path, headerBytes);
        // Codes, vectors and at least 4 bytes per text, plus three checksums, must fit in what is left.
        if ((long)header.Count * (header.BytesPerVector + (header.Dimension * 4L) + 4) + 96 > reader.Remaining)
        {
            throw reader.Bad($"the header promises {header.Count} vectors of {header.Dimension} dimensions, more than the file's {reader.Remaining} remaining bytes hold");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var codes = ReadCodes(reader, header, hash);
        reader.Checksum(hash.GetHashAndReset(), "codes");
        var texts = reader.Texts(header.Count, hash);
        reader.Checksum(hash.GetHashAndReset(), "texts");
        reader.Take((int)((Alignment - (reader.Position % Alignment)) % Alignment), "padding");
        var vectorsAt = reader.Position;
        var vectorBytes = (long)header.Count * header.Dimension * 4;
        if (reader.Remaining != vectorBytes + 32)
        {
            throw reader.Bad($"{reader.Remaining} bytes after the texts; {header.Count} × {header.Dimension} float32 vectors and their checksum take {vectorBytes + 32}");
        }

        reader.Stream(vectorBytes, hash);
        reader.Checksum(hash.GetHashAndReset(), "vectors");
        return (header, codes, texts, vectorsAt);
    }

    private static CodeRows ReadCodes(IndexFileReader reader, Fields header, IncrementalHash hash)
    {
        var codes = new CodeRows(header.Count, header.BytesPerVector);
        foreach (var block in codes.Blocks)
        {
            reader.Stream(block.Length, hash, block);
        }

        return codes;
    }

    private static void Check(IndexFileReader reader, IncrementalHash hash, byte[] expected, string what)
    {
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(expected))
        {
            throw reader.Bad($"the {what} checksum does not match: the file is corrupt");
        }
    }

    private sealed record Fields(string Model, PoolingMode Pooling, VectorQuantization Form, int Dimension, int Count, QuantizationRanges? Ranges)
    {
        public int BytesPerVector => Form == VectorQuantization.Binary ? (Dimension + 7) / 8 : Dimension;
    }

    private static Fields ParseHeader(string path, byte[] header) =>
        IndexFileReader.ParseHeader(path, header, MaxDimension, (root, model, dimension, pooling, count) =>
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

            return new Fields(model, pooling, form, dimension, count, ranges);
        });
}
