using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Search;
using Bge.Weights;

namespace Bge.Tests.Compression;

/// <summary>
/// The streaming index writer and what large indexes rely on: an index written batch by batch is the index built in
/// memory (codes, self-calibrated int8 ranges, answers); codes held in several blocks search as one; exact search
/// through the memory map equals the in-memory float32 index; an unfinished writer replaces nothing; version 1
/// files, laid out here from their specification, still open.
/// </summary>
public sealed class QuantizedIndexWriterTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-qwriter-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static EmbeddingMatrix UnitVectors(int rows, int dimension, int seed) => QuantizedIndexTests.UnitVectors(rows, dimension, seed);

    private static EmbeddingMatrix Rows(EmbeddingMatrix all, int first, int count) =>
        new(all.Data.AsSpan(first * all.Columns, count * all.Columns).ToArray(), count, all.Columns);

    private static string[] Texts(int count) => [.. Enumerable.Range(0, count).Select(i => $"passage {i} ü")];

    [TestCase(VectorQuantization.Binary, 64)]
    [TestCase(VectorQuantization.Binary, 70)]
    [TestCase(VectorQuantization.Int8, 48)]
    public void BatchesWrittenOneByOneMakeTheIndexBuiltInMemory(VectorQuantization form, int dimension)
    {
        var documents = UnitVectors(1000, dimension, 1);
        var texts = Texts(1000);
        var path = Path.Combine(_dir, "streamed.bgeq");
        using (var writer = new QuantizedIndexWriter(path, "m", PoolingMode.Cls, form, dimension))
        {
            foreach (var (first, count) in new[] { (0, 1), (1, 300), (301, 0), (301, 699) })
            {
                writer.Add(texts[first..(first + count)], Rows(documents, first, count));
            }

            Assert.That(writer.Count, Is.EqualTo(1000));
            Assert.That(File.Exists(path), Is.False, "nothing at the path before Complete");
            writer.Complete();
        }

        using var inMemory = QuantizedIndex.Build("m", PoolingMode.Cls, documents, texts, form);
        using var streamed = QuantizedIndex.Open(path);
        Assert.That((streamed.Count, streamed.Dimension, streamed.Form), Is.EqualTo((1000, dimension, form)));
        Assert.That(streamed.Texts, Is.EqualTo(texts));
        if (form == VectorQuantization.Int8)
        {
            // Ranges from all thousand embeddings, though the codes were written after the last batch.
            Assert.That(streamed.Ranges!.Min, Is.EqualTo(inMemory.Ranges!.Min));
            Assert.That(streamed.Ranges.Max, Is.EqualTo(inMemory.Ranges.Max));
        }

        var queries = UnitVectors(6, dimension, 2);
        for (var q = 0; q < queries.Rows; q++)
        {
            foreach (var multiplier in new[] { 0, 4 })
            {
                var expected = inMemory.Search(queries.Row(q), 10, multiplier);
                var actual = streamed.Search(queries.Row(q), 10, multiplier);
                Assert.That(actual.Select(h => (h.Index, h.Score, h.Text)), Is.EqualTo(expected.Select(h => (h.Index, h.Score, h.Text))), $"query {q}, × {multiplier}");
            }
        }

        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "no scratch files left");
    }

    [TestCase(VectorQuantization.Binary)]
    [TestCase(VectorQuantization.Int8)]
    public void CodesInManyBlocksSearchAsOne(VectorQuantization form)
    {
        var documents = UnitVectors(500, 64, 3);
        using var one = QuantizedIndex.Build("m", PoolingMode.Cls, documents, Texts(500), form);
        var bytesPerVector = one.BytesPerVector;
        // Blocks of 7 rows: 72 blocks, the last one short.
        var blocks = new CodeRows(500, bytesPerVector, 7 * bytesPerVector);
        var original = EmbeddingQuantizer.Quantize(documents, form == VectorQuantization.Binary ? VectorQuantization.UBinary : form, one.Ranges);
        for (var r = 0; r < 500; r++)
        {
            original.Row(r).CopyTo(blocks.Row(r));
        }

        Assert.That(blocks.Blocks, Has.Count.EqualTo(72));
        using var many = new QuantizedIndex("m", PoolingMode.Cls, form, 64, one.Ranges, blocks, new RescoringVectors((float[])documents.Data.Clone(), 64), Texts(500));
        var queries = UnitVectors(5, 64, 4);
        for (var q = 0; q < queries.Rows; q++)
        {
            foreach (var multiplier in new[] { 0, 3 })
            {
                Assert.That(many.Search(queries.Row(q), 10, multiplier).Select(h => (h.Index, h.Score)), Is.EqualTo(one.Search(queries.Row(q), 10, multiplier).Select(h => (h.Index, h.Score))));
            }
        }
    }

    // 32 dimensions: 400 rows in one block read from the file; 2048: 128 rows per 1 MiB block, so three whole blocks
    // and a tail of 16 rows.
    [TestCase(32)]
    [TestCase(2048)]
    public void ExactSearchReadFromTheFileIsTheFloat32Index(int dimension)
    {
        var documents = UnitVectors(400, dimension, 5);
        var path = Path.Combine(_dir, "exact.bgeq");
        using (var built = QuantizedIndex.Build("m", PoolingMode.Cls, documents, Texts(400), VectorQuantization.Binary))
        {
            built.Save(path);
        }

        var exact = new EmbeddingIndex("m", dimension, PoolingMode.Cls);
        exact.Add(Texts(400), documents);
        using var index = QuantizedIndex.Open(path);
        var queries = UnitVectors(4, dimension, 6);
        for (var q = 0; q < queries.Rows; q++)
        {
            Assert.That(index.SearchExact(queries.Row(q), 7).Select(h => (h.Index, h.Score, h.Text)), Is.EqualTo(exact.Search(queries.Row(q), 7).Select(h => (h.Index, h.Score, h.Text))));
        }

        Assert.Throws<ArgumentException>(() => index.SearchExact(new float[dimension - 1], 7));
        index.Dispose();
        Assert.DoesNotThrow(index.Dispose, "disposing twice is harmless");
        Assert.Throws<ObjectDisposedException>(() => index.SearchExact(queries.Row(0), 7));
    }

    [Test]
    public void ExactSearchOverAFileShortenedAfterOpeningNamesIt()
    {
        var path = Path.Combine(_dir, "shortened.bgeq");
        using (var built = QuantizedIndex.Build("m", PoolingMode.Cls, UnitVectors(300, 64, 8), Texts(300), VectorQuantization.Binary))
        {
            built.Save(path);
        }

        using var index = QuantizedIndex.Open(path);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.SetLength(64 + (100 * 64 * sizeof(float)));
        }

        var error = Assert.Throws<IndexFormatException>(() => index.SearchExact(UnitVectors(1, 64, 9).Row(0), 3))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("300 vectors").And.Contain("shortened"));
    }

    [Test]
    public void AnUnfinishedWriterReplacesNothingAndBadInputIsRefused()
    {
        var path = Path.Combine(_dir, "kept.bgeq");
        File.WriteAllText(path, "the previous index");
        var documents = UnitVectors(20, 16, 7);
        using (var writer = new QuantizedIndexWriter(path, "m", PoolingMode.Cls, VectorQuantization.Binary, 16))
        {
            writer.Add(Texts(20), documents);
            Assert.That(Assert.Throws<ArgumentException>(() => writer.Add(Texts(3), documents))!.Message, Does.Contain("3 texts with a 20 × 16"));
            var unnormalized = new EmbeddingMatrix([.. documents.Data.Select(v => v * 2)], 20, 16);
            Assert.That(Assert.Throws<ArgumentException>(() => writer.Add(Texts(20), unnormalized))!.Message, Does.Contain("embedding 20 has norm"));
        }

        Assert.That(File.ReadAllText(path), Is.EqualTo("the previous index"));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "the partial file and scratch files are gone");

        using (var empty = new QuantizedIndexWriter(path, "m", PoolingMode.Cls, VectorQuantization.Int8, 16))
        {
            Assert.That(Assert.Throws<InvalidOperationException>(empty.Complete)!.Message, Does.Contain("int8 codes need ranges"));
        }

        Assert.Throws<ArgumentException>(() => new QuantizedIndexWriter(path, "m", PoolingMode.Cls, VectorQuantization.UInt8, 16).Dispose());
        var ranges = QuantizationRanges.From(UnitVectors(5, 8, 8));
        Assert.That(Assert.Throws<ArgumentException>(() => new QuantizedIndexWriter(path, "m", PoolingMode.Cls, VectorQuantization.Int8, 16, ranges).Dispose())!.Message, Does.Contain("ranges of 8 dimensions for embeddings of 16"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("the previous index"));
    }

    [TestCase(VectorQuantization.Binary)]
    [TestCase(VectorQuantization.Int8)]
    public void VersionOneFilesStillOpen(VectorQuantization form)
    {
        var documents = UnitVectors(30, 24, 9);
        var texts = Texts(30);
        using var built = QuantizedIndex.Build("m", PoolingMode.Mean, documents, texts, form);
        var path = Path.Combine(_dir, "v1.bgeq");
        File.WriteAllBytes(path, VersionOne(documents, texts, form, built.Ranges));
        using var opened = QuantizedIndex.Open(path);
        Assert.That((opened.Model, opened.Pooling, opened.Form, opened.Count), Is.EqualTo(("m", PoolingMode.Mean, form, 30)));
        var query = UnitVectors(1, 24, 10).Row(0);
        foreach (var multiplier in new[] { 0, 2 })
        {
            Assert.That(opened.Search(query, 5, multiplier).Select(h => (h.Index, h.Score, h.Text)), Is.EqualTo(built.Search(query, 5, multiplier).Select(h => (h.Index, h.Score, h.Text))));
        }
    }

    // Version 1 as its specification lays it out: magic · u32 1 · u32 header length · header · SHA-256 · codes ·
    // SHA-256 · texts · SHA-256 · zeros to a multiple of 64 · vectors · SHA-256.
    private static byte[] VersionOne(EmbeddingMatrix documents, string[] texts, VectorQuantization form, QuantizationRanges? ranges)
    {
        using var file = new MemoryStream();
        var header = Encoding.UTF8.GetBytes(
            $"{{\"model\":\"m\",\"pooling\":\"mean\",\"form\":\"{(form == VectorQuantization.Binary ? "binary" : "int8")}\",\"dimension\":{documents.Columns},\"count\":{documents.Rows}"
            + (ranges is null ? "}" : $",\"ranges\":{{\"min\":[{string.Join(",", ranges.Min.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}],"
                + $"\"max\":[{string.Join(",", ranges.Max.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]}}}}"));
        var word = new byte[4];
        file.Write("BGEQUANT"u8);
        BinaryPrimitives.WriteUInt32LittleEndian(word, 1);
        file.Write(word);
        BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)header.Length);
        file.Write(word);
        file.Write(header);
        file.Write(SHA256.HashData(header));
        var codes = EmbeddingQuantizer.Quantize(documents, form == VectorQuantization.Binary ? VectorQuantization.UBinary : form, ranges).Data;
        file.Write(codes);
        file.Write(SHA256.HashData(codes));
        using var textBytes = new MemoryStream();
        foreach (var text in texts)
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)utf8.Length);
            textBytes.Write(word);
            textBytes.Write(utf8);
        }

        file.Write(textBytes.ToArray());
        file.Write(SHA256.HashData(textBytes.ToArray()));
        file.Write(new byte[(64 - (file.Position % 64)) % 64]);
        var vectors = MemoryMarshal.AsBytes(documents.Data.AsSpan()).ToArray();
        file.Write(vectors);
        file.Write(SHA256.HashData(vectors));
        return file.ToArray();
    }
}
