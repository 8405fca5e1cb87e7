using System.Numerics.Tensors;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Kernels;
using Bge.Core.Search;
using Bge.Tests.Cli;
using Bge.Weights;

namespace Bge.Tests.Compression;

/// <summary>
/// The quantized index: its code kernels against naive references at every width; its candidates in the order the
/// codes give (worked out here with the references); rescoring with every document a candidate equal to exact
/// float32 search; the file's round trip and its refusals (tampering, truncation, another model or form).
/// </summary>
public sealed class QuantizedIndexTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-qindex-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void CodeKernelsMatchTheirReferencesAtEveryWidth()
    {
        var random = new Random(11);
        foreach (var length in new[] { 1, 7, 8, 16, 31, 48, 64, 100, 128, 200, 384, 400 })
        {
            var a = new byte[length];
            var b = new byte[length];
            random.NextBytes(a);
            random.NextBytes(b);
            var sa = a.Select(v => (sbyte)v).ToArray();
            var sb = b.Select(v => (sbyte)v).ToArray();
            sa[0] = -128;
            sb[0] = -128;
            foreach (var width in Widths)
            {
                Assert.That(CodeDistance.Hamming(a, b, width), Is.EqualTo(CodeDistance.ReferenceHamming(a, b)), $"Hamming, {length} bytes, {width}");
                Assert.That(CodeDistance.Dot(sa, sb, width), Is.EqualTo(CodeDistance.ReferenceDot(sa, sb)), $"dot, {length} values, {width}");
            }
        }
    }

    /// <summary>Random unit vectors, the same for the same seed.</summary>
    internal static EmbeddingMatrix UnitVectors(int rows, int dimension, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * dimension];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() - 0.5);
        }

        for (var r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * dimension, dimension);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }

        return new EmbeddingMatrix(data, rows, dimension);
    }

    private static string[] Texts(int count) => [.. Enumerable.Range(0, count).Select(i => $"document {i}")];

    // Binary codes of one 64-bit word, of six (384 bits, scanned with the query held in registers) and of ten (groups
    // of four words and a tail of two).
    [TestCase(VectorQuantization.Binary, 64)]
    [TestCase(VectorQuantization.Binary, 384)]
    [TestCase(VectorQuantization.Binary, 640)]
    [TestCase(VectorQuantization.Int8, 64)]
    public void RescoringEveryDocumentIsExactSearchAndCandidatesFollowTheCodes(VectorQuantization form, int dimension)
    {
        var documents = UnitVectors(300, dimension, 1);
        var queries = UnitVectors(5, dimension, 2);
        using var index = QuantizedIndex.Build("m", PoolingMode.Cls, documents, Texts(300), form);
        var exact = new EmbeddingIndex("m", dimension, PoolingMode.Cls);
        exact.Add(Texts(300), documents);
        Assert.That(index.BytesPerVector, Is.EqualTo(form == VectorQuantization.Binary ? dimension / 8 : dimension));
        var codes = EmbeddingQuantizer.Quantize(documents, form == VectorQuantization.Binary ? VectorQuantization.UBinary : form);
        for (var q = 0; q < queries.Rows; q++)
        {
            var query = queries.Row(q);
            var expected = exact.Search(query, 10);
            var rescored = index.Search(query, 10, rescoreMultiplier: 30);
            Assert.That(rescored.Select(h => h.Index), Is.EqualTo(expected.Select(h => h.Index)), $"query {q}");
            Assert.That(rescored.Select(h => h.Score), Is.EqualTo(expected.Select(h => h.Score)).Within(1e-6f));

            if (form == VectorQuantization.Binary)
            {
                var bits = EmbeddingQuantizer.Quantize(new EmbeddingMatrix(query.ToArray(), 1, dimension), VectorQuantization.UBinary).Row(0).ToArray();
                var byCodes = Enumerable.Range(0, 300).OrderBy(d => CodeDistance.ReferenceHamming(bits, codes.Row(d))).ThenBy(d => d).Take(10).ToList();
                var hits = index.Search(query, 10);
                Assert.That(hits.Select(h => h.Index), Is.EqualTo(byCodes));
                Assert.That(hits.Select(h => h.Score), Is.EqualTo(byCodes.Select(d => 1f - (2f * CodeDistance.ReferenceHamming(bits, codes.Row(d)) / dimension))));
            }
            else
            {
                // Int8 estimates track the float scores closely: their top 10 shares most of the exact top 10.
                Assert.That(index.Search(query, 10).Select(h => h.Index).Intersect(expected.Select(h => h.Index)).Count(), Is.GreaterThanOrEqualTo(7));
            }

            // Four times k rescored: the exact top 10 mostly recovered.
            Assert.That(index.Search(query, 10, 4).Select(h => h.Index).Intersect(expected.Select(h => h.Index)).Count(), Is.GreaterThanOrEqualTo(form == VectorQuantization.Binary ? 5 : 9));
        }
    }

    [TestCase(VectorQuantization.Binary)]
    [TestCase(VectorQuantization.Int8)]
    public void TheFileRoundTripsAndRefusesTamperingTruncationAndTheWrongIndex(VectorQuantization form)
    {
        var documents = UnitVectors(50, 40, 3);
        var path = Path.Combine(_dir, "i.bgeq");
        var texts = Texts(50).Select(t => t + " é").ToArray();
        using (var built = QuantizedIndex.Build("m", PoolingMode.Mean, documents, texts, form))
        {
            built.Save(path);
            using var opened = QuantizedIndex.Open(path);
            Assert.That((opened.Model, opened.Pooling, opened.Form, opened.Dimension, opened.Count), Is.EqualTo(("m", PoolingMode.Mean, form, 40, 50)));
            Assert.That(opened.Texts, Is.EqualTo(texts));
            foreach (var multiplier in new[] { 0, 3 })
            {
                var a = built.Search(documents.Row(7), 5, multiplier);
                var b = opened.Search(documents.Row(7), 5, multiplier);
                Assert.That(b.Select(h => (h.Index, h.Score, h.Text)), Is.EqualTo(a.Select(h => (h.Index, h.Score, h.Text))));
            }

            Assert.That(opened.Search(documents.Row(7), 1, 3)[0].Index, Is.EqualTo(7));
        }

        // Version 2's parts: vectors from byte 64, then codes, then texts up to the trailer, whose offset is at byte 16.
        var bytes = File.ReadAllBytes(path);
        var trailer = (int)BitConverter.ToInt64(bytes, 16);
        var codesAt = 64 + (50 * 40 * 4);
        foreach (var (offset, what) in new[] { (70, "vectors"), (codesAt + 1, "codes"), (trailer - 2, "text"), (trailer + 6, "header"), (bytes.Length - 1, "texts"), (17, "trailer") })
        {
            var copy = (byte[])bytes.Clone();
            copy[offset] ^= 0x10;
            var tampered = Path.Combine(_dir, $"t{offset}.bgeq");
            File.WriteAllBytes(tampered, copy);
            var error = Assert.Throws<IndexFormatException>(() => QuantizedIndex.Open(tampered).Dispose())!;
            Assert.That(error.Message, Does.Contain(what).And.Contain(tampered), error.Message);
        }

        var truncated = Path.Combine(_dir, "short.bgeq");
        File.WriteAllBytes(truncated, bytes[..^100]);
        Assert.That(Assert.Throws<IndexFormatException>(() => QuantizedIndex.Open(truncated).Dispose())!.Message, Does.Contain("bytes"));

        var plain = new EmbeddingIndex("m", 40, PoolingMode.Mean);
        plain.Add(texts, documents);
        var plainPath = Path.Combine(_dir, "plain.bge");
        plain.Save(plainPath);
        Assert.That(Assert.Throws<IndexFormatException>(() => QuantizedIndex.Open(plainPath).Dispose())!.Message, Does.Contain("float32 index"));
    }

    [Test]
    public void IndexBuildAndSearchFromTheCommandLine()
    {
        var corpus = Path.Combine(_dir, "corpus.txt");
        string[] lines = ["Tides are caused by the gravity of the moon.", "Sourdough bread needs a starter.", "The stock market fell today.", "Cats sleep most of the day.", "Photosynthesis turns light into sugar."];
        File.WriteAllLines(corpus, lines);
        var path = Path.Combine(_dir, "corpus.bgeq");
        var (exit, _, error) = EmbedCommandTests.Run("index", "build", "--model", TestPaths.Arctic, "--corpus", corpus, "--output", path, "--quantize", "binary", "--dimensions", "128");
        Assert.That(exit, Is.EqualTo(0), error);
        Assert.That(error, Does.Contain("16 bytes resident"));

        (exit, var output, error) = EmbedCommandTests.Run("search", "--model", TestPaths.Arctic, "--index", path, "--query", "why does the sea rise and fall", "-k", "2", "--rescore-multiplier", "2");
        Assert.That(exit, Is.EqualTo(0), error);
        var embedder = Embedder.Load(TestPaths.Arctic);
        using var index = QuantizedIndex.Open(path, embedder, VectorQuantization.Binary, 128);
        var expected = index.Search(embedder, "why does the sea rise and fall", 2, 2);
        Assert.That(output, Does.StartWith($"  1. {expected[0].Score.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}  \"{lines[0]}\""));

        Assert.That(Assert.Throws<IndexFormatException>(() => QuantizedIndex.Open(path, embedder, VectorQuantization.Int8).Dispose())!.Message,
            Does.Contain("Binary, 128 dimensions").And.Contain("Int8, 128 dimensions"));
        (exit, _, error) = EmbedCommandTests.Run("search", "--model", TestPaths.Arctic, "--corpus", corpus, "--query", "x", "--rescore-multiplier", "2");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--rescore-multiplier needs a quantized --index"));
    }
}
