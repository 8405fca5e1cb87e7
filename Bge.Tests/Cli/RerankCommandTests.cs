using System.Text.Json;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Tests.Core;

namespace Bge.Tests.Cli;

/// <summary><c>bge rerank</c> (pairs and ranking modes) and <c>bge eval retrieval --rerank</c>, on the tiny cross-encoders.</summary>
public sealed class RerankCommandTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-cli-rerank-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Error) Run(params string[] args) => EmbedCommandTests.Run(args);

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static List<JsonElement> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static string[] Keys(JsonElement line) => [.. line.EnumerateObject().Select(p => p.Name)];

    [TestCaseSource(typeof(RerankerGoldenTests), nameof(RerankerGoldenTests.Models))]
    public void PairsModePrintsTheGoldenLogitAndScoreOfEachPairInInputOrder(string model)
    {
        var pairs = RerankerGoldenTests.ReadPairs(model);
        // Both pair forms, and a blank line, which is skipped.
        var input = Write("pairs.jsonl", pairs.Select((p, i) => i % 2 == 0
            ? JsonSerializer.Serialize(new Dictionary<string, string> { ["query"] = p.Query, ["passage"] = p.Passage })
            : JsonSerializer.Serialize(new[] { p.Query, p.Passage })).Prepend(""));
        var (exit, output, error) = Run("rerank", "--model", RerankerGoldenTests.Folder(model), "--input", input, "--input-format", "jsonl");
        Assert.That(exit, Is.Zero, error);
        var lines = Lines(output);
        Assert.That(lines, Has.Count.EqualTo(pairs.Count));
        var direct = Reranker.Load(RerankerGoldenTests.Folder(model)).Score([.. pairs.Select(p => (p.Query, p.Passage))]);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(Keys(lines[i]), Is.EqualTo(new[] { "logit", "score" }), $"pair {i}");
            Assert.That(lines[i].GetProperty("logit").GetSingle(), Is.EqualTo(pairs[i].Logit).Within(1e-4), $"pair {i}");
            Assert.That(lines[i].GetProperty("score").GetSingle(), Is.EqualTo(pairs[i].Score).Within(1e-4), $"pair {i}");
            Assert.That(lines[i].GetProperty("logit").GetSingle(), Is.EqualTo(direct[i]), $"pair {i}: printed round-trippably");
            Assert.That(lines[i].GetProperty("score").GetSingle(), Is.EqualTo(Reranker.Sigmoid(direct[i])), $"pair {i}: printed round-trippably");
        }
    }

    [Test]
    public void PairsComeFromStandardInputAndGoToOutputFile()
    {
        var pairs = RerankerGoldenTests.ReadPairs("xlmr-reranker-tiny").Take(4).ToList();
        var output = Path.Combine(_dir, "scores.jsonl");
        var previous = Console.In;
        Console.SetIn(new StringReader(string.Join('\n', pairs.Select(p => JsonSerializer.Serialize(new[] { p.Query, p.Passage })))));
        try
        {
            var (exit, printed, error) = Run("rerank", "--model", RerankerGoldenTests.Folder("xlmr-reranker-tiny"), "--input", "-", "--input-format", "jsonl", "--output", output, "--batch-size", "3", "--threads", "1");
            Assert.That(exit, Is.Zero, error);
            Assert.That(printed, Is.Empty);
        }
        finally
        {
            Console.SetIn(previous);
        }

        var lines = Lines(File.ReadAllText(output));
        Assert.That(lines.Select(l => l.GetProperty("logit").GetSingle()), Is.EqualTo(pairs.Select(p => p.Logit)).Within(1e-4));
    }

    [TestCase("text")]
    [TestCase("jsonl")]
    public void RankingModePrintsThePassagesMostRelevantFirstAndTopKCutsTheList(string format)
    {
        const string model = "bert-reranker-tiny";
        var pairs = RerankerGoldenTests.ReadPairs(model);
        var query = pairs[0].Query;
        var shared = pairs.Where(p => p.Query == query).ToList();
        var passages = format == "text" ? shared.Select(p => p.Passage)
            : shared.Select((p, i) => i % 2 == 0 ? JsonSerializer.Serialize(p.Passage) : JsonSerializer.Serialize(new { text = p.Passage }));
        var input = Write("passages." + format, passages);
        var expected = shared.Select((p, i) => (i, p.Logit)).OrderByDescending(x => x.Logit).Select(x => x.i).ToList();

        var (exit, output, error) = Run("rerank", "--model", RerankerGoldenTests.Folder(model), "--query", query, "--input", input, "--input-format", format);
        Assert.That(exit, Is.Zero, error);
        var lines = Lines(output);
        Assert.That(lines.Select(l => l.GetProperty("index").GetInt32()), Is.EqualTo(expected));
        foreach (var line in lines)
        {
            var i = line.GetProperty("index").GetInt32();
            Assert.That(Keys(line), Is.EqualTo(new[] { "index", "logit", "score", "text" }));
            Assert.That(line.GetProperty("text").GetString(), Is.EqualTo(shared[i].Passage));
            Assert.That(line.GetProperty("logit").GetSingle(), Is.EqualTo(shared[i].Logit).Within(1e-4));
            Assert.That(line.GetProperty("score").GetSingle(), Is.EqualTo(Reranker.Sigmoid(line.GetProperty("logit").GetSingle())));
        }

        (exit, output, error) = Run("rerank", "--model", RerankerGoldenTests.Folder(model), "-q", query, "--input", input, "--input-format", format, "--top-k", "3");
        Assert.That(exit, Is.Zero, error);
        Assert.That(Lines(output).Select(l => l.GetProperty("index").GetInt32()), Is.EqualTo(expected.Take(3)));
    }

    [Test]
    public void AnEmbeddingModelIsRefusedNamingIt()
    {
        var input = Write("pairs.jsonl", ["{\"query\": \"q\", \"passage\": \"p\"}"]);
        var (exit, output, error) = Run("rerank", "--model", RerankEvaluationTests.TinyEmbedder, "--input", input, "--input-format", "jsonl");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("'xlmr-m3-tiny' is an embedding model").And.Contain("ForSequenceClassification"));
    }

    [TestCase("{\"query\": \"q\"}", "a pair is {\"query\": string, \"passage\": string} or [string, string]")]
    [TestCase("[\"q\", \"p\", \"x\"]", "a pair is")]
    [TestCase("{\"query\": \"q\", ", "not a JSON pair")]
    public void AMalformedPairLineIsNamedByFileAndLine(string bad, string reason)
    {
        var input = Write("pairs.jsonl", ["[\"q\", \"p\"]", "", bad]);
        var (exit, output, error) = Run("rerank", "--model", RerankerGoldenTests.Folder("bert-reranker-tiny"), "--input", input, "--input-format", "jsonl");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain($"{input}:3: {reason}"));
    }

    [Test]
    public void APairOnlySecondTruncationCannotFitFailsTheRunNamingItsLine()
    {
        var longQuery = string.Join(' ', Enumerable.Repeat("question", 20));
        var input = Write("pairs.jsonl", ["[\"short\", \"a passage of some words\"]", JsonSerializer.Serialize(new[] { longQuery, "passage" })]);
        var model = RerankerGoldenTests.Folder("bert-reranker-tiny");
        var (exit, output, error) = Run("rerank", "--model", model, "--input", input, "--input-format", "jsonl", "--max-length", "8", "--truncation", "only_second");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty, "no score is made up");
        Assert.That(error, Does.Contain($"{input}:2: this pair cannot be cut to 8 tokens by only_second truncation"));
        (exit, output, error) = Run("rerank", "--model", model, "--input", input, "--input-format", "jsonl", "--max-length", "8");
        Assert.That(exit, Is.Zero, error);
        Assert.That(Lines(output), Has.Count.EqualTo(2), "longest_first cuts the query");
    }

    [Test]
    public void UsageMistakesAndEmptyInputsAreClearErrors()
    {
        var model = RerankerGoldenTests.Folder("bert-reranker-tiny");
        var pairs = Write("pairs.jsonl", ["{\"query\": \"q\", \"passage\": \"p\"}"]);
        var empty = Write("empty.txt", []);

        var (exit, _, error) = Run("rerank", "--model", model, "--input", pairs);
        Assert.That((exit, error), Is.EqualTo((1, "bge rerank: without --query each input line is a (query, passage) pair in JSON: add --input-format jsonl; or give --query Q to rank the lines as passages\n")));
        (exit, _, error) = Run("rerank", "--model", model, "--input", pairs, "--input-format", "jsonl", "--top-k", "2");
        Assert.That((exit, error), Is.EqualTo((1, "bge rerank: --top-k ranks passages for a --query; pairs are scored in input order\n")));
        (exit, _, error) = Run("rerank", "--model", model, "--input", pairs, "--query", "q", "--top-k", "0");
        Assert.That((exit, error), Is.EqualTo((1, "bge rerank: --top-k must be at least 1\n")));
        (exit, _, error) = Run("rerank", "--model", model, "--input", pairs, "--input-format", "jsonl", "--query", "q");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain($"{pairs}:1: not a JSON string or {{\"text\": string}} object").And.Contain("leave out --query to score {\"query\", \"passage\"} pairs"));
        (exit, _, error) = Run("rerank", "--model", model, "--input", empty, "--input-format", "jsonl");
        Assert.That((exit, error), Is.EqualTo((1, $"bge rerank: no pairs in {empty}\n")));
        (exit, _, error) = Run("rerank", "--model", model, "--input", empty, "--query", "q");
        Assert.That((exit, error), Is.EqualTo((1, $"bge rerank: no passages in {empty}\n")));
        (exit, _, error) = Run("rerank", "--input", pairs, "--input-format", "jsonl");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(error, Does.Contain("--model"), "no default model is a cross-encoder");
    }

    [Test]
    public void EvalRetrievalWithRerankPrintsTheFirstStageLinesUnchangedAndTheRerankedOnesAfter()
    {
        var beir = RerankEvaluationTests.SquadSlice(Path.Combine(_dir, "beir"), queries: 12, paragraphs: 30);
        var reranker = RerankerGoldenTests.Folder("bert-reranker-tiny");
        string[] common = ["eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--pooling", "cls", "--data", beir];
        var (exit, plain, error) = Run([.. common, "--json"]);
        Assert.That(exit, Is.Zero, error);
        (exit, var output, error) = Run([.. common, "--json", "--rerank", reranker, "--rerank-depth", "5"]);
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(12), "six metrics, first stage then reranked");
        Assert.That(lines.Take(6), Is.EqualTo(plain.Split('\n', StringSplitOptions.RemoveEmptyEntries)), "the first-stage lines are as without --rerank");
        var reranked = lines.Skip(6).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(Keys(reranked[0]), Is.EqualTo(new[] { "task", "model", "pooling", "instruction", "reranker", "rerank_depth", "metric", "value" }));
        Assert.That(reranked.All(l => l.GetProperty("reranker").GetString() == "bert-reranker-tiny" && l.GetProperty("rerank_depth").GetInt32() == 5), Is.True);

        var data = BeirDataset.Load(beir);
        var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
        var first = evaluator.Rank(data, evaluator.EmbedCorpus(data, Bge.Weights.PoolingMode.Cls), Bge.Weights.PoolingMode.Cls, queryInstruction: false);
        var expected = Evaluator.Score(data, new RetrievalReranker(Reranker.Load(reranker), data).Rerank(first, 5));
        double Value(string metric) => reranked.Single(l => l.GetProperty("metric").GetString() == metric).GetProperty("value").GetDouble();
        Assert.That(Value("ndcg@10"), Is.EqualTo(expected.NdcgAt10 * 100).Within(1e-3));
        Assert.That(Value("mrr@10"), Is.EqualTo(expected.MrrAt10 * 100).Within(1e-3));
        Assert.That(Value("recall@1"), Is.EqualTo(expected.RecallAt1 * 100).Within(1e-3));

        (exit, output, error) = Run([.. common, "--rerank", reranker]);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("| xlmr-m3-tiny                 | cls     |").And.Contain("| xlmr-m3-tiny → bert-reranker-tiny (top 100) | cls     |"));

        (exit, _, error) = Run([.. common, "--rerank", reranker, "--rerank-depth", "0"]);
        Assert.That((exit, error), Is.EqualTo((1, "bge eval retrieval: --rerank-depth must be at least 1\n")));
        (exit, _, error) = Run([.. common, "--rerank-depth", "5"]);
        Assert.That((exit, error), Is.EqualTo((1, "bge eval retrieval: --rerank-depth needs --rerank\n")));
        (exit, _, error) = Run([.. common, "--rerank", RerankEvaluationTests.TinyEmbedder]);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("'xlmr-m3-tiny' is an embedding model"));
    }
}
