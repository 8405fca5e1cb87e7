using System.Numerics.Tensors;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Evaluation;
using Bge.Tests.Cli;
using Bge.Tests.Core;

namespace Bge.Tests.Compression;

/// <summary>
/// Retrieval over compressed embeddings: CompressedSearch ranks as a plain scan of the truncated, re-normalized vectors
/// when every document is rescored; <c>bge eval retrieval --dimensions --quantize --rescore-multiplier --json</c>
/// prints what the library computes for that setting.
/// </summary>
public sealed class CompressedRetrievalTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-compressed-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void RescoringEveryDocumentRanksAsAScanOfTheTruncatedVectors()
    {
        var data = BeirDataset.Load(RerankEvaluationTests.SquadSlice(_dir, queries: 8, paragraphs: 40));
        var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
        var corpus = evaluator.EmbedCorpusVectors(data);
        var queries = evaluator.EmbedJudgedQueries(data, queryInstruction: false);
        float[] Cut(ReadOnlySpan<float> v)
        {
            var c = v[..24].ToArray();
            TensorPrimitives.Divide(c, TensorPrimitives.Norm(c), c);
            return c;
        }

        foreach (var form in new VectorQuantization?[] { null, VectorQuantization.Int8, VectorQuantization.Binary })
        {
            using var search = new CompressedSearch(corpus, new CompressionSetting(24, form, RescoreMultiplier: form is null ? 0 : 40));
            Assert.That(search.BytesPerVector, Is.EqualTo(form switch { null => 96, VectorQuantization.Int8 => 24, _ => 3 }));
            var rankings = Evaluator.RankCompressed(data, queries, search, depth: 10);
            for (var q = 0; q < queries.Rows; q++)
            {
                var query = Cut(queries.Row(q));
                var expected = Enumerable.Range(0, corpus.Rows).OrderByDescending(d => TensorPrimitives.Dot(query, Cut(corpus.Row(d)))).ThenBy(d => d).Take(10);
                Assert.That(rankings[q].Documents, Is.EqualTo(expected), $"{form}, query {q}");
            }
        }
    }

    [Test]
    public void EvalRetrievalPrintsTheCompressedSearchsMetrics()
    {
        var folder = RerankEvaluationTests.SquadSlice(_dir, queries: 8, paragraphs: 30);
        var (exit, output, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder,
            "--dimensions", "32", "--quantize", "binary", "--rescore-multiplier", "2", "--json");
        Assert.That(exit, Is.EqualTo(0), error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines[0].GetProperty("dimensions").GetInt32(), Is.EqualTo(32));
        Assert.That(lines[0].GetProperty("quantize").GetString(), Is.EqualTo("binary"));
        Assert.That(lines[0].GetProperty("rescore_multiplier").GetInt32(), Is.EqualTo(2));

        var data = BeirDataset.Load(folder);
        var evaluator = new Evaluator(Embedder.Load(RerankEvaluationTests.TinyEmbedder));
        using var search = new CompressedSearch(evaluator.EmbedCorpusVectors(data), new CompressionSetting(32, VectorQuantization.Binary, 2));
        var expected = Evaluator.Score(data, Evaluator.RankCompressed(data, evaluator.EmbedJudgedQueries(data, queryInstruction: false), search));
        var ndcg = lines.Single(l => l.GetProperty("metric").GetString() == "ndcg@10").GetProperty("value").GetDouble();
        Assert.That(ndcg, Is.EqualTo(Math.Round(expected.NdcgAt10 * 100, 4)));

        (exit, _, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder, "--rescore-multiplier", "2");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--rescore-multiplier needs --quantize"));
        (exit, _, error) = EmbedCommandTests.Run("eval", "retrieval", "--model", RerankEvaluationTests.TinyEmbedder, "--data", folder, "--dimensions", "65");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("1 to 64"));
    }
}
