using Bge.Core;
using Bge.Core.Pooling;
using Bge.Core.Search;
using Bge.Weights;

namespace Bge.Tests.Core;

public sealed class EmbeddingIndexTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "bge-index-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static EmbeddingMatrix RandomUnitRows(int rows, int dimension, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * dimension];
        for (var r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * dimension, dimension);
            for (var i = 0; i < dimension; i++)
            {
                row[i] = (float)(random.NextDouble() - 0.5);
            }

            L2Normalize.InPlace(row);
        }

        return new EmbeddingMatrix(data, rows, dimension);
    }

    private static EmbeddingIndex RandomIndex(int count = 300, int dimension = 24)
    {
        var index = new EmbeddingIndex("test-model", dimension, PoolingMode.Cls);
        var vectors = RandomUnitRows(count, dimension, 3);
        // Added in three steps: incremental adds must equal one add.
        var first = count / 3;
        EmbeddingMatrix Rows(int from, int to) => new(vectors.Data[(from * dimension)..(to * dimension)], to - from, dimension);
        index.Add(Enumerable.Range(0, first).Select(i => $"doc {i}").ToList(), Rows(0, first));
        index.Add([$"doc {first}"], Rows(first, first + 1));
        index.Add(Enumerable.Range(first + 1, count - first - 1).Select(i => $"doc {i} ünïcödé 東京").ToList(), Rows(first + 1, count));
        return index;
    }

    [Test]
    public void TopKIsTheBruteForceRankingIncludingTies()
    {
        var index = RandomIndex();
        // Two documents identical to document 7: equal scores, earlier document first.
        var seven = index.Vector(7).ToArray();
        index.Add(["copy a", "copy b"], new EmbeddingMatrix([.. seven, .. seven], 2, index.Dimension));
        var query = RandomUnitRows(1, index.Dimension, 99).Row(0).ToArray();
        foreach (var k in new[] { 1, 5, 50, 1000 })
        {
            var expected = Enumerable.Range(0, index.Count)
                .Select(i => (i, score: System.Numerics.Tensors.TensorPrimitives.Dot(query, index.Vector(i))))
                .OrderByDescending(x => x.score).ThenBy(x => x.i).Take(k).Select(x => x.i).ToList();
            Assert.That(index.Search(query, k).Select(h => h.Index), Is.EqualTo(expected), $"k = {k}");
        }

        var hits = index.Search(seven, 3);
        Assert.That(hits.Select(h => h.Index), Is.EqualTo(new[] { 7, index.Count - 2, index.Count - 1 }));
        Assert.That(hits[0].Score, Is.EqualTo(1f).Within(1e-5));
    }

    [Test]
    public void SaveAndLoadRoundTripsEverything()
    {
        var index = RandomIndex();
        var path = Path.Combine(_dir, "corpus.bgeindex");
        index.Save(path);
        var loaded = EmbeddingIndex.Load(path);
        Assert.That((loaded.Model, loaded.Dimension, loaded.Pooling, loaded.Count), Is.EqualTo((index.Model, index.Dimension, index.Pooling, index.Count)));
        Assert.That(loaded.Texts, Is.EqualTo(index.Texts));
        for (var i = 0; i < index.Count; i++)
        {
            Assert.That(loaded.Vector(i).ToArray(), Is.EqualTo(index.Vector(i).ToArray()));
        }

        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [Test]
    public void EveryCorruptionIsRefusedWithATypedErrorNamingTheFile()
    {
        var path = Path.Combine(_dir, "i.bgeindex");
        RandomIndex(40, 8).Save(path);
        var good = File.ReadAllBytes(path);
        var random = new Random(5);
        var damaged = Path.Combine(_dir, "damaged.bgeindex");
        List<byte[]> cases = [good[..10], good[..^1], [.. good, 0], [], "not an index at all"u8.ToArray()];
        for (var offset = 0; offset < good.Length; offset += 1 + (offset / 50))
        {
            var bytes = (byte[])good.Clone();
            bytes[offset] ^= (byte)(1 << random.Next(8));
            cases.Add(bytes);
        }

        // A header that promises ten million vectors in a tiny file (its checksum fixed up so only the size check stops it).
        var headerLength = BitConverter.ToInt32(good, 12);
        var header = System.Text.Encoding.UTF8.GetString(good, 16, headerLength).Replace("\"count\":40", "\"count\":10000000");
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header);
        cases.Add([.. good[..12], .. BitConverter.GetBytes(headerBytes.Length), .. headerBytes, .. System.Security.Cryptography.SHA256.HashData(headerBytes), .. good[(16 + headerLength + 32)..]]);

        foreach (var bytes in cases)
        {
            File.WriteAllBytes(damaged, bytes);
            var e = Assert.Throws<IndexFormatException>(() => EmbeddingIndex.Load(damaged), $"{bytes.Length} bytes");
            Assert.That(e!.FilePath, Is.EqualTo(damaged));
        }

        Assert.That(cases, Has.Count.GreaterThan(150), "every region of the file was damaged somewhere");
    }

    [Test]
    public void VectorsOfTheWrongShapeOrNormAreRefused()
    {
        var index = new EmbeddingIndex("m", 4, PoolingMode.Mean);
        Assert.Throws<ArgumentException>(() => index.Add(["a"], new EmbeddingMatrix([1, 0, 0], 1, 3)));
        Assert.Throws<ArgumentException>(() => index.Add(["a"], new EmbeddingMatrix([2, 0, 0, 0], 1, 4)));
        Assert.Throws<ArgumentException>(() => index.Add(["a"], new EmbeddingMatrix([float.NaN, 0, 0, 0], 1, 4)));
        Assert.Throws<ArgumentException>(() => index.Add(["a", "b"], new EmbeddingMatrix([1, 0, 0, 0], 1, 4)));
        Assert.Throws<ArgumentException>(() => index.Search(new float[3], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(new float[4], 0));
        Assert.That(index.Count, Is.Zero);
    }

    [Test]
    public void ARealModelFindsTheParaphraseAndRefusesAnIndexFromAnotherModel()
    {
        var arctic = GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        var index = new EmbeddingIndex(arctic.Name, arctic.Dimension, arctic.TrainedPooling);
        index.Add(arctic, ["A man is playing a guitar.", "The stock market fell sharply today.", "A chef is slicing onions in a kitchen."]);
        index.Add(arctic, ["Two dogs run across a snowy field."]);
        var hits = index.Search(arctic, "someone cutting vegetables", 2);
        Assert.That(hits[0].Text, Is.EqualTo("A chef is slicing onions in a kitchen."));
        Assert.That(hits[0].Score, Is.GreaterThan(hits[1].Score));

        var path = Path.Combine(_dir, "arctic.bgeindex");
        index.Save(path);
        Assert.That(EmbeddingIndex.Load(path, arctic).Count, Is.EqualTo(4));
        var miniLm = GoldenEmbeddingTests.Load("all-MiniLM-L6-v2");
        var e = Assert.Throws<IndexFormatException>(() => EmbeddingIndex.Load(path, miniLm));
        Assert.That(e!.Message, Does.Contain(arctic.Name).And.Contain(miniLm.Name));
        Assert.Throws<IndexFormatException>(() => EmbeddingIndex.Load(path, arctic, PoolingMode.Mean));
        Assert.Throws<ArgumentException>(() => index.Add(miniLm, ["x"]));
    }
}
