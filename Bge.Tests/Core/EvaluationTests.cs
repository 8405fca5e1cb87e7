using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Core.Pooling;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Tests.Core;

public sealed class EvaluationTests
{
    private static string StsPath => Path.Combine(TestPaths.Shared, "data", "stsb", "sts-test.csv");

    [Test]
    public void SpearmanAveragesTiedRanksAsScipyDoes()
    {
        Assert.That(Spearman.Ranks([10, 20, 20, 30, 20]), Is.EqualTo(new[] { 1, 3, 3, 5, 3 }));
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic (the example in scipy's documentation)
        Assert.That(Spearman.Correlation([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), Is.EqualTo(0.8207826816681233).Within(1e-12));
        Assert.That(Spearman.Correlation([1, 2, 3], [3, 2, 1]), Is.EqualTo(-1).Within(1e-12));
        Assert.Throws<ArgumentException>(() => Spearman.Correlation([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => Spearman.Correlation([1, double.NaN], [1, 2]));
    }

    [Test]
    public void StsFileReaderTakesScoreAndSentencesAndNamesBadLines()
    {
        var pairs = StsBenchmark.Load(StsPath);
        Assert.That(pairs, Has.Count.EqualTo(1379));
        Assert.That(StsBenchmark.UniqueSentences(pairs), Has.Count.EqualTo(2552));
        Assert.That(pairs.All(p => p.Score is >= 0 and <= 5), Is.True);
        var bad = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(bad, ["main-captions\tMSRvid\t2012test\t0001\t5.000\tA\tB", "main-captions\tMSRvid\t2012test\t0002\tfive\tA\tB"]);
            var e = Assert.Throws<InvalidDataException>(() => StsBenchmark.Load(bad));
            Assert.That(e!.Message, Does.Contain("line 2").And.Contain("five"));
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Test]
    public void StsOnASliceMatchesOnnxRuntimeEmbeddingsScoredIndependently()
    {
        var pairs = StsBenchmark.Load(StsPath).Take(120).ToList();
        var embedder = GoldenEmbeddingTests.Load("all-MiniLM-L6-v2");
        var ours = new Evaluator(embedder).Sts(pairs, PoolingMode.Mean);

        using var session = OnnxRuntimeParityTests.Session("all-MiniLM-L6-v2");
        float[] Reference(string text)
        {
            var encoding = embedder.Tokenizer.Encode(text);
            var padded = new TokenBatch([encoding]).ToPadded(Padding.Longest, 0);
            var mean = Bge.Reference.OrtPooling.MaskedMean(OnnxRuntimeParityTests.RunOnnx(session, padded), encoding.Length, embedder.Dimension);
            L2Normalize.InPlace(mean);
            return mean;
        }

        var cosines = pairs.Select(p => (double)System.Numerics.Tensors.TensorPrimitives.Dot(Reference(p.Sentence1), Reference(p.Sentence2))).ToList();
        var expected = Spearman.Correlation(cosines, pairs.Select(p => p.Score).ToList());
        TestContext.Out.WriteLine($"120 pairs: ours {ours.Spearman * 100:F4}, ONNX Runtime embeddings {expected * 100:F4}");
        Assert.That(ours.Pairs, Is.EqualTo(120));
        Assert.That(ours.Spearman, Is.EqualTo(expected).Within(1e-4));
    }

    [Test]
    public void MiniLmWithMeanPoolingReproducesThePublishedMtebStsBenchmarkScore()
    {
        // MTEB's STSBenchmark (test split, cosine Spearman) for sentence-transformers/all-MiniLM-L6-v2: 82.03.
        var result = new Evaluator(GoldenEmbeddingTests.Load("all-MiniLM-L6-v2")).Sts(StsBenchmark.Load(StsPath), PoolingMode.Mean);
        TestContext.Out.WriteLine($"all-MiniLM-L6-v2 mean: {result.Spearman * 100:F2}");
        Assert.That(result.Spearman * 100, Is.EqualTo(82.03).Within(0.1));
    }

    [Test]
    public void RetrievalOnASliceMatchesABruteForceRankingOfTheSameEmbeddings()
    {
        var corpus = StsBenchmark.UniqueSentences(StsBenchmark.Load(StsPath));
        var full = RetrievalTask.Load(Path.Combine(TestPaths.Shared, "data", "stsb", "paraphrase-retrieval.jsonl"), corpus);
        Assert.That(full.Queries, Has.Count.EqualTo(338));
        var task = full with { Queries = full.Queries.Take(40).ToList(), Corpus = corpus.Take(600).Union(full.Queries.Take(40).Select(q => q.Relevant)).ToList() };
        var embedder = GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        var result = new Evaluator(embedder).Retrieval(task, PoolingMode.Cls, queryInstruction: true);

        var documents = embedder.EncodeCorpus(task.Corpus);
        var queries = embedder.EncodeQueries(task.Queries.Select(q => q.Query).ToList());
        double r1 = 0, r10 = 0, mrr = 0;
        for (var q = 0; q < task.Queries.Count; q++)
        {
            var ranking = Enumerable.Range(0, task.Corpus.Count)
                .Where(d => task.Corpus[d] != task.Queries[q].Query)
                .OrderByDescending(d => System.Numerics.Tensors.TensorPrimitives.Dot(queries.Row(q), documents.Row(d))).ThenBy(d => d)
                .Select(d => task.Corpus[d]).ToList();
            var rank = ranking.IndexOf(task.Queries[q].Relevant) + 1;
            r1 += rank == 1 ? 1 : 0;
            r10 += rank <= 10 ? 1 : 0;
            mrr += rank <= 10 ? 1.0 / rank : 0;
        }

        Assert.That(result.Queries, Is.EqualTo(40));
        Assert.That(result.RecallAt1, Is.EqualTo(r1 / 40).Within(1e-12));
        Assert.That(result.RecallAt10, Is.EqualTo(r10 / 40).Within(1e-12));
        Assert.That(result.MrrAt10, Is.EqualTo(mrr / 40).Within(1e-12));
        Assert.That(result.RecallAt10, Is.GreaterThan(0.5), "a real model finds most paraphrases");
    }

    [Test]
    public void RetrievalQueriesNamingTextsOutsideTheCorpusAreRefused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["{\"query\": \"a\", \"relevant\": \"b\"}", "{\"query\": \"a\", \"relevant\": \"zzz\"}"]);
            var e = Assert.Throws<InvalidDataException>(() => RetrievalTask.Load(path, ["a", "b"]));
            Assert.That(e!.Message, Does.Contain("line 2"));
            File.WriteAllLines(path, ["[1, 2]"]);
            Assert.Throws<InvalidDataException>(() => RetrievalTask.Load(path, ["a", "b"]));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
