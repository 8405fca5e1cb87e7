using System.Text.Json;
using Bge.Core.Evaluation;
using Bge.Core.Search;
using Bge.Tests.Core;
using Bge.Weights;

namespace Bge.Tests.Cli;

public sealed class EvalAndSearchCommandTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "bge-cli-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static string Sts => Path.Combine(TestPaths.Shared, "data", "stsb", "sts-test.csv");

    private string Slice(int rows)
    {
        var path = Path.Combine(_dir, "slice.csv");
        File.WriteAllLines(path, File.ReadLines(Sts).Take(rows));
        return path;
    }

    [Test]
    public void EvalRetrievalOnABeirFolderMatchesABruteForceRankingWithAndWithoutTheInstruction()
    {
        // A slice of the SQuAD folder: 30 questions, their paragraphs and the first 60 paragraphs.
        var beir = RerankEvaluationTests.SquadSlice(Path.Combine(_dir, "beir"), queries: 30, paragraphs: 60);
        var qrels = File.ReadLines(Path.Combine(beir, "qrels", "test.tsv")).Skip(1).Select(l => l.Split('\t')).ToList();
        var corpus = File.ReadAllLines(Path.Combine(beir, "corpus.jsonl")).ToList();
        var queries = File.ReadAllLines(Path.Combine(beir, "queries.jsonl")).ToList();
        string Id(string line) => JsonDocument.Parse(line).RootElement.GetProperty("_id").GetString()!;

        var (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", TestPaths.Arctic, "--pooling", "cls", "--both-instructions", "--data", Path.Combine(_dir, "beir"), "--json");
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines, Has.Count.EqualTo(12), "six metrics × two instruction settings");

        var embedder = GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        var texts = corpus.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!.Trim()).ToList();
        var docs = embedder.EncodeCorpus(texts);
        var relevantOf = qrels.ToDictionary(q => q[0], q => q[1]);
        foreach (var withInstruction in new[] { false, true })
        {
            var questions = queries.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var vectors = withInstruction
                ? embedder.EncodeQueries(questions.Select(q => q.GetProperty("text").GetString()!).ToList())
                : embedder.Encode(questions.Select(q => q.GetProperty("text").GetString()!).ToList());
            double ndcg = 0, mrr = 0;
            for (var q = 0; q < questions.Count; q++)
            {
                var scores = Enumerable.Range(0, texts.Count).Select(d => System.Numerics.Tensors.TensorPrimitives.Dot(vectors.Row(q), docs.Row(d))).ToList();
                var target = corpus.FindIndex(l => Id(l) == relevantOf[questions[q].GetProperty("_id").GetString()!]);
                var rank = 1 + scores.Count(s => s > scores[target]) + scores.Take(target).Count(s => s == scores[target]);
                ndcg += rank <= 10 ? 1 / Math.Log2(rank + 1) : 0;
                mrr += rank <= 10 ? 1.0 / rank : 0;
            }

            double Value(string metric) => lines.Single(l => l.GetProperty("instruction").GetBoolean() == withInstruction && l.GetProperty("metric").GetString() == metric).GetProperty("value").GetDouble();
            Assert.That(Value("ndcg@10"), Is.EqualTo(ndcg / questions.Count * 100).Within(1e-3), $"instruction {withInstruction}");
            Assert.That(Value("mrr@10"), Is.EqualTo(mrr / questions.Count * 100).Within(1e-3), $"instruction {withInstruction}");
            Assert.That(Value("recall@100"), Is.EqualTo(100.0).Within(1e-9), "every paragraph is within the top 100 of a corpus this small");
        }
    }

    /// <summary>
    /// eval finds STS-B without --data: under BGE_SHARED, else in a shared folder beside the repository (or an
    /// ancestor) it was built from. The second half runs where the checkout has that layout; a clone elsewhere
    /// (CI's temporary folder) has no shared folder beside it, and the lookup must then say where it looked.
    /// </summary>
    [Test]
    public void TheSharedStsbFileIsFoundUnderBgeSharedOrBesideTheRepositoryWithoutBeingNamed()
    {
        var expected = Path.GetFullPath(Path.Combine(TestPaths.Shared, "data", "stsb", "sts-test.csv"));
        var previous = Environment.GetEnvironmentVariable("BGE_SHARED");
        try
        {
            Environment.SetEnvironmentVariable("BGE_SHARED", TestPaths.Shared);
            Assert.That(Path.GetFullPath(Bge.Cli.SharedData.Find("sts-test.csv")), Is.EqualTo(expected));
            Environment.SetEnvironmentVariable("BGE_SHARED", null);
            var beside = false;
            for (var dir = new DirectoryInfo(TestPaths.Root); dir is not null; dir = dir.Parent)
            {
                beside |= File.Exists(Path.Combine(dir.FullName, "shared", "data", "stsb", "sts-test.csv"));
            }

            if (beside)
            {
                Assert.That(Path.GetFullPath(Bge.Cli.SharedData.Find("sts-test.csv")), Is.EqualTo(expected));
            }
            else
            {
                Assert.That(() => Bge.Cli.SharedData.Find("sts-test.csv"), Throws.TypeOf<Bge.Weights.Provisioning.ModelProvisioningException>()
                    .With.Message.Contains(Path.Combine(TestPaths.Root, "shared", "data", "stsb", "sts-test.csv")).And.Message.Contains("BGE_SHARED"));
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("BGE_SHARED", previous);
        }
    }

    [Test]
    public void EvalStsbJsonGivesOneObjectPerResultWithTheEvaluatorsValue()
    {
        var data = Slice(150);
        var (exit, output, error) = EmbedCommandTests.Run("eval", "stsb", "--model", TestPaths.MiniLm, "--pooling", "both", "--data", data, "--json");
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines.Select(l => l.GetProperty("pooling").GetString()), Is.EqualTo(new[] { "cls", "mean" }));
        var expected = new Evaluator(GoldenEmbeddingTests.Load("all-MiniLM-L6-v2")).Sts(StsBenchmark.Load(data), PoolingMode.Mean).Spearman * 100;
        var mean = lines[1];
        Assert.That(mean.GetProperty("task").GetString(), Is.EqualTo("stsb"));
        Assert.That(mean.GetProperty("model").GetString(), Is.EqualTo("all-MiniLM-L6-v2"));
        Assert.That(mean.GetProperty("instruction").GetBoolean(), Is.False);
        Assert.That(mean.GetProperty("metric").GetString(), Is.EqualTo("spearman"));
        Assert.That(mean.GetProperty("value").GetDouble(), Is.EqualTo(expected).Within(1e-4));
    }

    [Test]
    public void EvalRetrievalPrintsATableAndJsonWithTheInstructionFlag()
    {
        var data = Slice(200);
        var queries = Path.Combine(_dir, "queries.jsonl");
        File.WriteAllLines(queries, StsBenchmark.Load(data).Where(p => p.Score >= 4).Select(p => JsonSerializer.Serialize(new { query = p.Sentence1, relevant = p.Sentence2 })));
        var (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", TestPaths.Arctic, "--pooling", "cls", "--data", data, "--queries", queries);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("without the model's instruction").And.Contain("| snowflake-arctic-embed-xs").And.Contain("MRR@10"));
        (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", TestPaths.Arctic, "--pooling", "cls", "--data", data, "--queries", queries, "--query-instruction", "--json");
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines.Select(l => l.GetProperty("metric").GetString()), Is.EqualTo(new[] { "recall@1", "recall@10", "mrr@10" }));
        Assert.That(lines.All(l => l.GetProperty("instruction").GetBoolean() && l.GetProperty("task").GetString() == "retrieval"), Is.True);
        Assert.That(lines.All(l => l.GetProperty("value").GetDouble() is >= 0 and <= 100), Is.True);
    }

    [Test]
    public void SearchBuildsReusesAndExtendsItsIndexAndRefusesAnotherModelsIndex()
    {
        var corpus = Path.Combine(_dir, "corpus.txt");
        var index = Path.Combine(_dir, "corpus.bgeindex");
        File.WriteAllLines(corpus, ["A man is playing a guitar.", "The stock market fell sharply today.", "", "A chef is slicing onions in a kitchen."]);
        var (exit, output, error) = EmbedCommandTests.Run("search", "--model", TestPaths.Arctic, "--corpus", corpus, "--index", index, "--query", "someone cutting vegetables", "--top-k", "2");
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[0], Does.StartWith("  1. ").And.Contain("A chef is slicing onions"));
        Assert.That(EmbeddingIndex.Load(index).Count, Is.EqualTo(3), "blank lines are not documents");

        var written = File.GetLastWriteTimeUtc(index);
        (exit, _, error) = EmbedCommandTests.Run("search", "--model", TestPaths.Arctic, "--corpus", corpus, "--index", index, "--query", "music");
        Assert.That((exit, error), Is.EqualTo((0, "")));
        Assert.That(File.GetLastWriteTimeUtc(index), Is.EqualTo(written), "an up-to-date index is reused as it is");

        File.AppendAllLines(corpus, ["Two dogs run across a snowy field."]);
        (exit, output, _) = EmbedCommandTests.Run("search", "--model", TestPaths.Arctic, "--corpus", corpus, "--index", index, "--query", "puppies playing in winter", "--top-k", "1");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("Two dogs run"));
        Assert.That(EmbeddingIndex.Load(index).Count, Is.EqualTo(4));

        (exit, _, error) = EmbedCommandTests.Run("search", "--model", TestPaths.MiniLm, "--corpus", corpus, "--index", index, "--query", "music");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("snowflake-arctic-embed-xs").And.Contain("all-MiniLM-L6-v2").And.Contain("rebuild"));
    }
}
