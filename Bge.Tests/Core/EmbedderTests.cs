using Bge.Core;
using Bge.Core.Pooling;
using Bge.Weights;

namespace Bge.Tests.Core;

public sealed class EmbedderTests
{
    private static Embedder Arctic => GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");

    private static readonly string[] Mixed =
    [
        "short",
        "A somewhat longer sentence about embeddings and retrieval.",
        "",
        "Mean pooling averages every real token of the sequence, [CLS] and [SEP] included.",
        "x",
    ];

    [Test]
    public void BatchedResultsComeBackInInputOrderAndEqualSingleEncodes()
    {
        var matrix = Arctic.Encode(Mixed, new EncodeOptions { BatchSize = 2 });
        Assert.That((matrix.Rows, matrix.Columns), Is.EqualTo((Mixed.Length, 384)));
        for (var i = 0; i < Mixed.Length; i++)
        {
            Assert.That(matrix.RowArray(i), Is.EqualTo(Arctic.Encode(Mixed[i])).Within(1e-6), $"text {i}");
        }
    }

    [Test]
    public void EmbeddingsAreUnitLengthUnlessNormalizationIsOff()
    {
        var normalized = Arctic.Encode("I love machine learning and nlp");
        Assert.That(Math.Sqrt(normalized.Sum(x => (double)x * x)), Is.EqualTo(1.0).Within(1e-5));
        var raw = Arctic.Encode("I love machine learning and nlp", new EncodeOptions { Normalize = false });
        var norm = Math.Sqrt(raw.Sum(x => (double)x * x));
        Assert.That(norm, Is.Not.EqualTo(1.0).Within(1e-3));
        Assert.That(raw.Select(x => (float)(x / norm)), Is.EqualTo(normalized).Within(1e-6));
    }

    [Test]
    public void PoolingDefaultsToTheTrainedOneAndAnotherIsAllowedWithAWarning()
    {
        var warnings = new List<string>();
        var directory = TestPaths.Arctic;
        var embedder = Embedder.Load(directory, new EmbedderOptions { Warning = warnings.Add, DegreeOfParallelism = 1 });
        Assert.That(embedder.TrainedPooling, Is.EqualTo(PoolingMode.Cls));
        var cls = embedder.Encode("pooling");
        Assert.That(warnings, Is.Empty);
        var mean = embedder.Encode("pooling", new EncodeOptions { Pooling = PoolingMode.Mean });
        Assert.That(warnings, Has.Count.EqualTo(1).And.Some.Contains("Mean pooling requested"));
        Assert.That(mean, Is.Not.EqualTo(cls));
        Assert.That(GoldenEmbeddingTests.Load("all-MiniLM-L6-v2").TrainedPooling, Is.EqualTo(PoolingMode.Mean));
    }

    [Test]
    public void QueriesGetTheInstructionAndTheCorpusDoesNot()
    {
        Assert.That(Arctic.QueryInstruction, Is.EqualTo("Represent this sentence for searching relevant passages: "));
        var query = Arctic.EncodeQueries(["what is an embedding"]).RowArray(0);
        Assert.That(query, Is.EqualTo(Arctic.Encode("Represent this sentence for searching relevant passages: what is an embedding")).Within(1e-6));
        Assert.That(Arctic.EncodeCorpus(["what is an embedding"]).RowArray(0), Is.EqualTo(Arctic.Encode("what is an embedding")).Within(1e-6));
        var minilm = GoldenEmbeddingTests.Load("all-MiniLM-L6-v2");
        Assert.That(minilm.QueryInstruction, Is.Null);
        Assert.That(minilm.EncodeQueries(["q"]).RowArray(0), Is.EqualTo(minilm.Encode("q")).Within(1e-6));
    }

    [Test]
    public void SimilarityIsTheDotProductMatrixAndRanksParaphrasesFirst()
    {
        var a = Arctic.Encode(["A man is playing a guitar.", "The stock market fell sharply today."]);
        var b = Arctic.Encode(["Someone plays the guitar.", "Shares dropped steeply on Wall Street.", "A cat sleeps."]);
        var scores = Embedder.Similarity(a, b);
        Assert.That((scores.Rows, scores.Columns), Is.EqualTo((2, 3)));
        Assert.That(scores[0, 1], Is.EqualTo(a.Row(0).ToArray().Zip(b.RowArray(1), (x, y) => x * y).Sum()).Within(1e-5));
        Assert.That(scores[0, 0], Is.GreaterThan(scores[0, 1]).And.GreaterThan(scores[0, 2]));
        Assert.That(scores[1, 1], Is.GreaterThan(scores[1, 0]).And.GreaterThan(scores[1, 2]));
    }

    [Test]
    public void MaxLengthTruncatesAndBadOptionsAreRefused()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 100));
        Assert.That(Arctic.Encode(text, new EncodeOptions { MaxLength = 16 }),
            Is.EqualTo(Arctic.Encode(string.Join(' ', Enumerable.Repeat("word", 14)))).Within(1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Arctic.Encode(["x"], new EncodeOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Arctic.Encode(["x"], new EncodeOptions { MaxLength = 513 }));
        Assert.Throws<ArgumentNullException>(() => Arctic.Encode([null!]));
    }

    [Test]
    public void IdsOutsideTheVocabularyAreRefusedNamingTheToken()
    {
        var error = Assert.Throws<ArgumentException>(() => Arctic.Model.Forward(Bge.Tokenizer.TokenBatch.FromIds([[101, 2088, 102], [101, 40000, 102]])));
        Assert.That(error!.Message, Does.Contain("sequence 1, token 1: id 40000"));
        var tooLong = Enumerable.Repeat(1000, 513).ToArray();
        Assert.Throws<ArgumentException>(() => Arctic.Model.Forward(Bge.Tokenizer.TokenBatch.FromIds([tooLong])));
    }

    [Test]
    public void OneEmbedderServesManyThreadsWithSequentialResults()
    {
        var texts = Enumerable.Range(0, 40).Select(i => $"sentence number {i} about {(i % 3 == 0 ? "cats" : "markets")} " + new string('x', i % 7)).ToArray();
        var sequential = texts.Select(t => Arctic.Encode(t)).ToArray();
        var parallel = new float[texts.Length][];
        Parallel.For(0, texts.Length * 3, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i % texts.Length] = Arctic.Encode(texts[i % texts.Length]));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(parallel[i], Is.EqualTo(sequential[i]), $"text {i}");
        }
    }

    /// <summary>A progress sink that records reports on the reporting thread (Progress&lt;T&gt; would post them elsewhere).</summary>
    private sealed class Recorder(Action<EncodeProgress>? onReport = null) : IProgress<EncodeProgress>
    {
        public List<EncodeProgress> Reports { get; } = [];

        public void Report(EncodeProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    [Test]
    public void ProgressIsReportedAfterEachBatchUpToTheTotal()
    {
        var texts = Enumerable.Range(0, 70).Select(i => $"sentence number {i} about {new string('x', i % 9)}").ToList();
        var progress = new Recorder();
        Arctic.Encode(texts, new EncodeOptions { BatchSize = 16 }, progress);
        Assert.That(progress.Reports.Select(r => r.Done), Is.EqualTo(new[] { 16, 32, 48, 64, 70 }));
        Assert.That(progress.Reports.All(r => r.Total == 70), Is.True);
    }

    [Test]
    public void CancellationStopsBetweenBatchesAndLeavesTheEmbedderUsable()
    {
        var texts = Enumerable.Range(0, 64).Select(i => $"text {i}").ToList();
        using var cancellation = new CancellationTokenSource();
        var progress = new Recorder(_ => cancellation.Cancel());
        Assert.Throws<OperationCanceledException>(() => Arctic.Encode(texts, new EncodeOptions { BatchSize = 8 }, progress, cancellation.Token));
        Assert.That(progress.Reports, Has.Count.EqualTo(1), "stopped before the second batch");
        Assert.Throws<OperationCanceledException>(() => Arctic.EncodeQueries(texts, null, null, cancellation.Token));
        Assert.That(Arctic.Encode(texts).RowArray(5), Is.EqualTo(Arctic.Encode("text 5")).Within(1e-6));
    }
}
