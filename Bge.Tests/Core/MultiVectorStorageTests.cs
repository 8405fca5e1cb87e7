using System.Numerics.Tensors;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Core.Search;

namespace Bge.Tests.Core;

/// <summary>
/// ColBERT vectors kept as float16 or int8 in a hybrid index: every MaxSim score within the bound each form states
/// (MultiVectorStorage's documentation) of the float32 score, on the tiny m3 model's real outputs and on random unit
/// vectors at bge-m3's width, and bytes as stated.
/// </summary>
public sealed class MultiVectorStorageTests
{
    private const EncoderOutputs ColBertOnly = EncoderOutputs.ColBert;

    // The stated worst cases, from MultiVectorStorage's documentation.
    private static double Bound(MultiVectorStorage storage, MultiVector document, int dimension) => storage switch
    {
        MultiVectorStorage.Float16 => Math.Pow(2, -11) + (Math.Sqrt(dimension) * Math.Pow(2, -25)),
        MultiVectorStorage.Int8 => Enumerable.Range(0, document.Count).Max(r => Math.Sqrt(dimension) * Math.Abs(TensorPrimitives.MaxMagnitude(document.Row(r))) / 254),
        _ => 0,
    };

    private static MultiVector RandomUnitVectors(Random random, int count, int dimension)
    {
        var data = new float[count * dimension];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        for (var r = 0; r < count; r++)
        {
            var row = data.AsSpan(r * dimension, dimension);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }

        return new MultiVector(data, count, dimension);
    }

    [TestCase(MultiVectorStorage.Float16)]
    [TestCase(MultiVectorStorage.Int8)]
    public void ScoresStayWithinTheStatedBoundOfFloat32(MultiVectorStorage storage)
    {
        var random = new Random(7);
        const int dimension = 1024;
        var documents = Enumerable.Range(0, 20).Select(i => RandomUnitVectors(random, 5 + (i * 7), dimension)).ToArray();
        var queries = Enumerable.Range(0, 4).Select(_ => RandomUnitVectors(random, 9, dimension)).ToArray();
        // A query equal to a document row makes a score near 1, where float16's relative error is largest.
        queries[0] = new MultiVector(documents[3].Data[..(2 * dimension)], 2, dimension);

        var exact = new HybridIndex(ColBertOnly);
        var compact = new HybridIndex(ColBertOnly, storage);
        exact.Add(new EncodeResult(null, null, documents));
        compact.Add(new EncodeResult(null, null, documents));
        var values = documents.Sum(d => (long)d.Data.Length);
        Assert.That(compact.ColBertBytes, Is.EqualTo(storage == MultiVectorStorage.Float16 ? values * 2 : values + (documents.Sum(d => d.Count) * 4L)));
        Assert.That(exact.ColBertBytes, Is.EqualTo(values * 4));

        var worst = 0.0;
        for (var q = 0; q < queries.Length; q++)
        {
            var query = new EncodeResult(null, null, queries);
            var expected = exact.Search(query, q, documents.Length).ToDictionary(h => h.Document, h => h.Score);
            foreach (var (document, score) in compact.Search(query, q, documents.Length))
            {
                Assert.That(expected[document], Is.EqualTo(queries[q].MaxSim(documents[document])).Within(1e-6), "float32 storage is the plain MaxSim");
                var error = Math.Abs(score - expected[document]);
                Assert.That(error, Is.LessThanOrEqualTo(Bound(storage, documents[document], dimension) + 1e-6), $"query {q}, document {document}");
                worst = Math.Max(worst, error);
            }
        }

        Assert.That(worst, Is.GreaterThan(0), "the compact form is not the float32 one");
    }

    [TestCase(MultiVectorStorage.Float16)]
    [TestCase(MultiVectorStorage.Int8)]
    public void TheTinyM3ModelsHybridRankingHoldsWithCompactColBertVectors(MultiVectorStorage storage)
    {
        var dir = Directory.CreateTempSubdirectory("bge-mvstore-").FullName;
        try
        {
            var data = BeirDataset.Load(RerankEvaluationTests.SquadSlice(dir, queries: 10, paragraphs: 40));
            var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
            var all = EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert;
            var exact = evaluator.EmbedCorpusHybrid(data, all);
            var compact = evaluator.EmbedCorpusHybrid(data, all, colbertStorage: storage);
            Assert.That(compact.ColBertStorage, Is.EqualTo(storage));
            Assert.That(compact.ColBertBytes, Is.LessThan(exact.ColBertBytes / (storage == MultiVectorStorage.Float16 ? 1.99 : 3.5)));

            var queries = Embedder.Load(RerankEvaluationTests.TinyEmbedder).EncodeOutputs([.. data.Queries.Select(q => q.Text)], all);
            for (var q = 0; q < data.Queries.Count; q++)
            {
                var a = exact.Search(queries, q, 10);
                var b = compact.Search(queries, q, 10).ToDictionary(h => h.Document, h => h.Score);
                // ColBERT carries 0.4 of the fused score: each moves by at most 0.4 × the bound (tiny model: d = 64).
                foreach (var (document, score) in a.Where(h => b.ContainsKey(h.Document)))
                {
                    Assert.That(b[document], Is.EqualTo(score).Within(storage == MultiVectorStorage.Float16 ? 3e-4 : 0.02), $"query {q}");
                }

                Assert.That(b.Keys.Intersect(a.Select(h => h.Document)).Count(), Is.GreaterThanOrEqualTo(8), $"query {q}: top 10 kept");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
