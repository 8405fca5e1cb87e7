using Bge.Core.Evaluation;

namespace Bge.Tests.Core;

/// <summary>Retrieval metrics against hand-computed cases, and the BEIR-layout reader on good and malformed folders.</summary>
public sealed class BeirRetrievalTests
{
    private static Dictionary<string, int> Judged(params (string Id, int Score)[] judgements) => judgements.ToDictionary(j => j.Id, j => j.Score);

    [Test]
    public void OneRelevantDocumentAtRankThree()
    {
        var ranking = new[] { "d1", "d2", "d3", "d4" };
        var judged = Judged(("d3", 1));
        // DCG = 1/log2(4) = 0.5, ideal DCG = 1/log2(2) = 1.
        Assert.That(RetrievalMetrics.Ndcg(ranking, judged, 10), Is.EqualTo(0.5).Within(1e-12));
        Assert.That(RetrievalMetrics.ReciprocalRank(ranking, judged, 10), Is.EqualTo(1.0 / 3).Within(1e-12));
        Assert.That(RetrievalMetrics.Recall(ranking, judged, 1), Is.Zero);
        Assert.That(RetrievalMetrics.Recall(ranking, judged, 10), Is.EqualTo(1.0));
        Assert.That(RetrievalMetrics.AveragePrecision(ranking, judged, 10), Is.EqualTo(1.0 / 3).Within(1e-12));
        Assert.That(RetrievalMetrics.ReciprocalRank(ranking, judged, 2), Is.Zero, "past the cut-off");
    }

    [Test]
    public void GradedRelevanceUsesTheScoreAsGainAndZeroMeansNotRelevant()
    {
        var ranking = new[] { "b", "c", "a", "x" };
        var judged = Judged(("a", 2), ("b", 1), ("c", 0));
        // DCG@10 = 1/log2(2) + 0 + 2/log2(4) = 2; ideal = 2/log2(2) + 1/log2(3).
        Assert.That(RetrievalMetrics.Ndcg(ranking, judged, 10), Is.EqualTo(2 / (2 + (1 / Math.Log2(3)))).Within(1e-12));
        Assert.That(RetrievalMetrics.Ndcg(ranking, judged, 1), Is.EqualTo(0.5).Within(1e-12), "DCG@1 = 1, ideal 2");
        Assert.That(RetrievalMetrics.ReciprocalRank(ranking, judged, 10), Is.EqualTo(1.0));
        Assert.That(RetrievalMetrics.Recall(ranking, judged, 1), Is.EqualTo(0.5));
        Assert.That(RetrievalMetrics.Recall(ranking, judged, 10), Is.EqualTo(1.0));
        // Relevant at ranks 1 and 3: (1/1 + 2/3) / 2.
        Assert.That(RetrievalMetrics.AveragePrecision(ranking, judged, 10), Is.EqualTo((1 + (2.0 / 3)) / 2).Within(1e-12));
        Assert.That(RetrievalMetrics.AveragePrecision(ranking, judged, 2), Is.EqualTo(0.5).Within(1e-12), "AP@2 divides by all relevant documents");
    }

    [Test]
    public void AQueryWithNoRelevantDocumentScoresZeroAndIsFlagged()
    {
        var judged = Judged(("c", 0));
        Assert.That(RetrievalMetrics.HasRelevant(judged), Is.False);
        Assert.That(RetrievalMetrics.HasRelevant(Judged(("c", 0), ("d", 3))), Is.True);
        var ranking = new[] { "c", "d" };
        Assert.That(new[]
        {
            RetrievalMetrics.Ndcg(ranking, judged, 10), RetrievalMetrics.ReciprocalRank(ranking, judged, 10),
            RetrievalMetrics.Recall(ranking, judged, 10), RetrievalMetrics.AveragePrecision(ranking, judged, 10),
        }, Has.All.Zero);
    }

    [Test]
    public void TiesKeepCorpusOrder()
    {
        // The evaluator ranks through EmbeddingIndex.Search: scores 0.5, 0.9, 0.5, 0.9, 0.1 against the query (1, 0).
        float[] Unit(float x) => [x, MathF.Sqrt(1 - (x * x))];
        var index = new Bge.Core.Search.EmbeddingIndex("m", 2, Bge.Weights.PoolingMode.Cls);
        index.Add(["a", "b", "c", "d", "e"], new Bge.Core.EmbeddingMatrix([.. Unit(0.5f), .. Unit(0.9f), .. Unit(0.5f), .. Unit(0.9f), .. Unit(0.1f)], 5, 2));
        var ranking = index.Search([1f, 0f], 4).Select(hit => hit.Text).ToList();
        Assert.That(ranking, Is.EqualTo(new[] { "b", "d", "a", "c" }));
    }

    private static string Folder(string corpus, string queries, string qrels)
    {
        var directory = Directory.CreateTempSubdirectory("bge-beir-").FullName;
        File.WriteAllText(Path.Combine(directory, "corpus.jsonl"), corpus);
        File.WriteAllText(Path.Combine(directory, "queries.jsonl"), queries);
        Directory.CreateDirectory(Path.Combine(directory, "qrels"));
        File.WriteAllText(Path.Combine(directory, "qrels", "test.tsv"), qrels);
        return directory;
    }

    private const string Corpus = "{\"_id\": \"d1\", \"title\": \"Paris\", \"text\": \"The capital of France. \"}\n{\"_id\": \"d2\", \"text\": \"Bread is baked.\"}\n";
    private const string Queries = "{\"_id\": \"q1\", \"text\": \"capital of France\"}\n{\"_id\": \"q2\", \"text\": \"unjudged\"}\n";
    private const string Qrels = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n";

    [Test]
    public void ReadsAFolderJoiningTitlesAsBeirDoes()
    {
        var data = BeirDataset.Load(Folder(Corpus, Queries, Qrels));
        Assert.That(data.Corpus.Select(d => d.Id), Is.EqualTo(new[] { "d1", "d2" }));
        Assert.That(data.Corpus[0].Embedded(withTitle: true), Is.EqualTo("Paris The capital of France."));
        Assert.That(data.Corpus[0].Embedded(withTitle: false), Is.EqualTo("The capital of France."));
        Assert.That(data.Corpus[1].Embedded(withTitle: true), Is.EqualTo("Bread is baked."));
        Assert.That(data.Queries.Select(q => q.Text), Is.EqualTo(new[] { "capital of France", "unjudged" }));
        Assert.That(data.Judgements["q1"], Is.EquivalentTo(new Dictionary<string, int> { ["d1"] = 2, ["d2"] = 0 }));
        Assert.That(data.Judgements.ContainsKey("q2"), Is.False);
    }

    [TestCase("corpus", "{\"_id\": \"d3\"}", "corpus.jsonl, line 3: missing string field \"text\"")]
    [TestCase("corpus", "{\"_id\": \"d1\", \"text\": \"again\"}", "corpus.jsonl, line 3: duplicate _id 'd1'")]
    [TestCase("corpus", "{\"_id\": 7, \"text\": \"x\"}", "corpus.jsonl, line 3: field \"_id\" is Number")]
    [TestCase("queries", "{not json", "queries.jsonl, line 3: not valid JSON")]
    [TestCase("qrels", "q1\td9\t1", "test.tsv, line 4: corpus-id 'd9' is not in")]
    [TestCase("qrels", "q9\td1\t1", "test.tsv, line 4: query-id 'q9' is not in")]
    [TestCase("qrels", "q1\td1", "test.tsv, line 4: expected query-id, corpus-id and score")]
    [TestCase("qrels", "q2\td1\thigh", "test.tsv, line 4: score 'high' is not an integer")]
    [TestCase("qrels", "q1\td1\t1", "test.tsv, line 4: query 'q1' judges 'd1' twice")]
    public void MalformedFilesAreRefusedNamingFileLineAndReason(string file, string extraLine, string expected)
    {
        var directory = Folder(
            file == "corpus" ? Corpus + extraLine + "\n" : Corpus,
            file == "queries" ? Queries + extraLine + "\n" : Queries,
            file == "qrels" ? Qrels + extraLine + "\n" : Qrels);
        var error = Assert.Throws<InvalidDataException>(() => BeirDataset.Load(directory));
        Assert.That(error!.Message, Does.Contain(expected));
    }

    [Test]
    public void AMissingFileIsNamed()
    {
        var directory = Folder(Corpus, Queries, Qrels);
        File.Delete(Path.Combine(directory, "queries.jsonl"));
        var error = Assert.Throws<InvalidDataException>(() => BeirDataset.Load(directory));
        Assert.That(error!.Message, Does.Contain("queries.jsonl: no such file"));
    }
}
