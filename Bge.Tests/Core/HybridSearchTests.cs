using System.Numerics.Tensors;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Core.Search;
using Bge.Tests.Cli;

namespace Bge.Tests.Core;

/// <summary>
/// Hybrid search over the tiny m3 model's three outputs on a slice of the SQuAD task: the mechanics (inverted index,
/// fusion, ColBERT rescoring of the first stage's best) against the same scores computed pair by pair with the
/// golden-tested primitives. Random weights: nothing here says hybrid retrieves better.
/// </summary>
public sealed class HybridSearchTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-hybrid-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static readonly EncoderOutputs All = EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert;

    [Test]
    public void SearchRanksByTheFusedScoresAndRescoresOnlyTheFirstStagesBestWithColBert()
    {
        var data = BeirDataset.Load(RerankEvaluationTests.SquadSlice(_dir, queries: 10, paragraphs: 40));
        var embedder = Embedder.Load(RerankEvaluationTests.TinyEmbedder);
        var documents = embedder.EncodeOutputs([.. data.Corpus.Select(d => d.Embedded(true))], All);
        var index = new HybridIndex(All);
        index.Add(documents);
        Assert.That(index.Count, Is.EqualTo(data.Corpus.Count));
        Assert.That(index.ColBertBytes, Is.EqualTo(documents.ColBert!.Sum(m => (long)m.Data.Length * 4)));
        var queries = embedder.EncodeOutputs([.. data.Queries.Select(q => q.Text)], All);
        var weights = HybridWeights.Default;
        for (var q = 0; q < data.Queries.Count; q++)
        {
            float Dense(int d) => TensorPrimitives.Dot(queries.Dense!.Row(q), documents.Dense!.Row(d));
            float Sparse(int d) => queries.Sparse![q].Dot(documents.Sparse![d]);
            float ColBert(int d) => queries.ColBert![q].MaxSim(documents.ColBert![d]);

            // Every document a candidate: the full hybrid score of each.
            var full = Enumerable.Range(0, index.Count).Select(d => (d, s: weights.Combine(Dense(d), Sparse(d), ColBert(d))))
                .OrderByDescending(x => x.s).ThenBy(x => x.d).Take(10).ToList();
            var hits = index.Search(queries, q, 10, weights, candidates: index.Count);
            Assert.That(hits.Select(h => h.Document), Is.EqualTo(full.Select(x => x.d)), $"query {q}");
            Assert.That(hits.Select(h => h.Score), Is.EqualTo(full.Select(x => x.s)).Within(1e-5f));

            // Five candidates: the five best by dense and sparse, reordered with ColBERT.
            var firstStage = Enumerable.Range(0, index.Count).OrderByDescending(d => weights.Combine(Dense(d), Sparse(d), null)).ThenBy(d => d).Take(5).ToList();
            var rescored = index.Search(queries, q, 3, weights, candidates: 5);
            Assert.That(rescored.Select(h => h.Document), Is.EqualTo(firstStage.OrderByDescending(d => weights.Combine(Dense(d), Sparse(d), ColBert(d))).ThenBy(d => d).Take(3)));

            // Sparse alone, through the inverted index.
            var lexical = new HybridIndex(EncoderOutputs.Sparse);
            lexical.Add(documents with { Dense = null, ColBert = null });
            var expected = Enumerable.Range(0, index.Count).OrderByDescending(Sparse).ThenBy(d => d).Take(5);
            Assert.That(lexical.Search(queries, q, 5).Select(h => h.Document), Is.EqualTo(expected));
        }

        Assert.Throws<ArgumentException>(() => index.Add(documents with { ColBert = null }));
    }

    [Test]
    public void EvalRetrievalWithVectorsPrintsTheHybridMetrics()
    {
        var folder = RerankEvaluationTests.SquadSlice(_dir, queries: 10, paragraphs: 30);
        var (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder,
            "--vectors", "dense,sparse,colbert", "--weights", "0.5,0.25,0.25", "--json");
        Assert.That(exit, Is.EqualTo(0), error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines, Has.Count.EqualTo(6));
        Assert.That(lines[0].GetProperty("vectors").EnumerateArray().Select(v => v.GetString()), Is.EqualTo(new[] { "dense", "sparse", "colbert" }));
        Assert.That(lines[0].GetProperty("weights").EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(new[] { 0.5f, 0.25f, 0.25f }));

        var data = BeirDataset.Load(folder);
        var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
        var expected = Evaluator.Score(data, evaluator.RankHybrid(data, evaluator.EmbedCorpusHybrid(data, All), new HybridWeights(0.5f, 0.25f, 0.25f), queryInstruction: false));
        var ndcg = lines.Single(l => l.GetProperty("metric").GetString() == "ndcg@10").GetProperty("value").GetDouble();
        Assert.That(ndcg, Is.EqualTo(Math.Round(expected.NdcgAt10 * 100, 4)));

        (exit, _, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder, "--vectors", "dense", "--weights", "1,x,1");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--weights"));
        (exit, _, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", TestPaths.Arctic, "--data", folder, "--vectors", "sparse");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("sparse_linear.pt"));
    }

    [Test]
    public void SearchWithVectorsPrintsTheHybridIndexsHits()
    {
        var data = BeirDataset.Load(RerankEvaluationTests.SquadSlice(_dir, queries: 2, paragraphs: 30));
        var corpus = Path.Combine(_dir, "corpus.txt");
        var lines = data.Corpus.Select(d => d.Text.ReplaceLineEndings(" ")).ToList();
        File.WriteAllLines(corpus, lines);
        var query = data.Queries[0].Text;
        var (exit, output, error) = EmbedCommandTests.Run("search", "--model", RerankEvaluationTests.TinyEmbedder, "--corpus", corpus, "--query", query,
            "--vectors", "dense,sparse,colbert", "--weights", "0.3,0.3,0.4", "--colbert-storage", "float16", "--candidates", "10", "-k", "4");
        Assert.That(exit, Is.EqualTo(0), error);

        var embedder = Embedder.Load(RerankEvaluationTests.TinyEmbedder);
        var index = new HybridIndex(All, MultiVectorStorage.Float16);
        index.Add(embedder, lines.Where(l => l.Trim().Length > 0).ToList());
        var hits = index.Search(embedder.EncodeOutputs([query], All), 0, 4, new HybridWeights(0.3f, 0.3f, 0.4f), candidates: 10);
        var expected = hits.Select((h, rank) => $"{rank + 1,3}. {h.Score.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}  {JsonSerializer.Serialize(lines[h.Document])}");
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(expected));

        foreach (var (args, message) in new[]
        {
            (new[] { "--vectors", "dense", "--index", Path.Combine(_dir, "i.bge") }, "--index keeps dense indexes"),
            (["--vectors", "dense,sparse", "--colbert-storage", "int8"], "--colbert-storage needs --vectors with colbert"),
            (["--candidates", "5"], "--candidates needs --vectors"),
            (["--vectors", "colbert", "--colbert-storage", "bf16"], "'bf16' is not one of float32, float16, int8"),
        })
        {
            (exit, _, error) = EmbedCommandTests.Run(["search", "--model", RerankEvaluationTests.TinyEmbedder, "--corpus", corpus, "--query", query, .. args]);
            Assert.That(exit, Is.Not.EqualTo(0), string.Join(' ', args));
            Assert.That(error, Does.Contain(message));
        }
    }

    [Test]
    public void EvalRetrievalNamesTheColBertStorageItUsed()
    {
        var folder = RerankEvaluationTests.SquadSlice(_dir, queries: 5, paragraphs: 20);
        var (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder,
            "--vectors", "sparse,colbert", "--colbert-storage", "int8", "--json");
        Assert.That(exit, Is.EqualTo(0), error);
        var first = JsonDocument.Parse(output.Split('\n')[0]).RootElement;
        Assert.That(first.GetProperty("colbert_storage").GetString(), Is.EqualTo("int8"));

        var data = BeirDataset.Load(folder);
        var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
        var kinds = EncoderOutputs.Sparse | EncoderOutputs.ColBert;
        var expected = Evaluator.Score(data, evaluator.RankHybrid(data, evaluator.EmbedCorpusHybrid(data, kinds, colbertStorage: MultiVectorStorage.Int8), queryInstruction: false));
        Assert.That(first.GetProperty("value").GetDouble(), Is.EqualTo(Math.Round(expected.NdcgAt10 * 100, 4)));
        Assert.That(first.GetProperty("metric").GetString(), Is.EqualTo("ndcg@10"));
    }
}
