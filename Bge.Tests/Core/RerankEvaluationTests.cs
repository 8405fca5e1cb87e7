using System.Text.Json;
using Bge.Core;
using Bge.Core.Evaluation;

namespace Bge.Tests.Core;

/// <summary>
/// Retrieve-then-rerank on a slice of the SQuAD retrieval task: the mechanics only (which documents move where, and
/// which list the metrics are computed from). The tiny cross-encoder has random weights, so nothing here says a
/// reranker improves retrieval.
/// </summary>
public sealed class RerankEvaluationTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-rerank-eval-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A BEIR folder holding the first <paramref name="queries"/> judged questions of ../shared/data/squad-dev-retrieval,
    /// their paragraphs and the first <paramref name="paragraphs"/> paragraphs of the corpus.
    /// </summary>
    internal static string SquadSlice(string directory, int queries, int paragraphs)
    {
        var squad = Path.Combine(TestPaths.Shared, "data", "squad-dev-retrieval");
        var qrels = File.ReadLines(Path.Combine(squad, "qrels", "test.tsv")).Skip(1).Take(queries).Select(l => l.Split('\t')).ToList();
        static string Id(string line) => JsonDocument.Parse(line).RootElement.GetProperty("_id").GetString()!;
        var wanted = qrels.Select(q => q[1]).ToHashSet();
        var queryIds = qrels.Select(q => q[0]).ToHashSet();
        Directory.CreateDirectory(Path.Combine(directory, "qrels"));
        File.WriteAllLines(Path.Combine(directory, "corpus.jsonl"), File.ReadLines(Path.Combine(squad, "corpus.jsonl")).Where((l, i) => i < paragraphs || wanted.Contains(Id(l))));
        File.WriteAllLines(Path.Combine(directory, "queries.jsonl"), File.ReadLines(Path.Combine(squad, "queries.jsonl")).Where(l => queryIds.Contains(Id(l))));
        File.WriteAllLines(Path.Combine(directory, "qrels", "test.tsv"), ["query-id\tcorpus-id\tscore", .. qrels.Select(q => string.Join('\t', q))]);
        return directory;
    }

    internal static string TinyEmbedder => Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny");

    [Test]
    public void TheTopKIsReorderedByTheRerankersLogitsTheRestKeepsItsOrderAndTheMetricsFollowTheNewList()
    {
        const int depth = 10;
        var data = BeirDataset.Load(SquadSlice(_dir, queries: 20, paragraphs: 40));
        var evaluator = new Evaluator(Embedder.Load(TinyEmbedder));
        var corpus = evaluator.EmbedCorpus(data);
        var first = evaluator.Rank(data, corpus, queryInstruction: false);
        Assert.That(first, Has.Count.EqualTo(20));
        Assert.That(first.All(r => r.Documents.Count == Math.Min(100, data.Corpus.Count)), Is.True, "a corpus this small is ranked whole");
        Assert.That(Evaluator.Score(data, first), Is.EqualTo(evaluator.Retrieval(data, corpus, queryInstruction: false)), "Rank + Score is what Retrieval computes");

        var reranker = RerankerGoldenTests.Load("bert-reranker-tiny");
        var reports = new List<EncodeProgress>();
        var stage = new RetrievalReranker(reranker, data, progress: new Counting(reports));
        var second = stage.Rerank(first, depth);
        Assert.That(reports.Last().Done, Is.EqualTo(20 * depth), "each query's head scored once");

        var moved = 0;
        for (var q = 0; q < first.Count; q++)
        {
            var (before, after) = (first[q].Documents, second[q].Documents);
            Assert.That(second[q].Query, Is.EqualTo(first[q].Query));
            var head = before.Take(depth).ToList();
            var logits = reranker.Score(first[q].Query.Text, [.. head.Select(d => data.Corpus[d].Embedded(true))]);
            var expected = head.Select((d, i) => (d, Logit: logits[i])).OrderByDescending(x => x.Logit).Select(x => x.d).ToList();
            Assert.That(after.Take(depth), Is.EquivalentTo(head), $"query {q}: the head is a permutation of the first stage's");
            Assert.That(after.Take(depth), Is.EqualTo(expected), $"query {q}: ordered by Reranker.Score's logits, ties in first-stage order");
            Assert.That(after.Skip(depth), Is.EqualTo(before.Skip(depth)), $"query {q}: the tail keeps its first-stage order");
            moved += head.SequenceEqual(expected) ? 0 : 1;
        }

        Assert.That(moved, Is.GreaterThan(0), "the reranker reorders some heads");

        // The metrics of the reranked list, by hand: one relevant paragraph per query, gain 1.
        double ndcg = 0, mrr = 0, r1 = 0;
        foreach (var ranking in second)
        {
            var relevant = data.Judgements[ranking.Query.Id].Single().Key;
            var rank = 1 + ranking.Documents.ToList().FindIndex(d => data.Corpus[d].Id == relevant);
            Assert.That(rank, Is.GreaterThan(0));
            ndcg += rank <= 10 ? 1 / Math.Log2(rank + 1) : 0;
            mrr += rank <= 10 ? 1.0 / rank : 0;
            r1 += rank == 1 ? 1 : 0;
        }

        var result = Evaluator.Score(data, second);
        Assert.That(result.NdcgAt10, Is.EqualTo(ndcg / 20).Within(1e-12));
        Assert.That(result.MrrAt10, Is.EqualTo(mrr / 20).Within(1e-12));
        Assert.That(result.RecallAt1, Is.EqualTo(r1 / 20).Within(1e-12));
        Assert.That(result.RecallAt100, Is.EqualTo(1.0), "a permutation of the head loses nothing from the top 100");

        // Every pair is remembered: reranking the same first stage again scores nothing new and gives the same lists.
        reports.Clear();
        var again = stage.Rerank(first, depth);
        Assert.That(reports, Is.Empty);
        Assert.That(again.Select(r => r.Documents), Is.EqualTo(second.Select(r => r.Documents)));
        Assert.Throws<ArgumentOutOfRangeException>(() => stage.Rerank(first, 0));
    }

    private sealed class Counting(List<EncodeProgress> reports) : IProgress<EncodeProgress>
    {
        public void Report(EncodeProgress value) => reports.Add(value);
    }
}
