using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Evaluation;
using Bge.Core.Kernels;
using Bge.Reference;

namespace Bge.Benchmarks;

/// <summary>
/// retention: retrieval quality kept by each compression setting (dimensions × float32/int8/binary × rescoring) against
/// the full float32 search, on the SQuAD task (nDCG@10, MRR@10) and STS-B paraphrase retrieval (MRR@10, Recall@1),
/// with both provisioned models; each model embeds its texts once and every setting searches those embeddings.
/// </summary>
internal static class Retention
{
    private static readonly int[] Dimensions = [384, 256, 128, 64];

    public static int Run(IReadOnlyList<string> models, int multiplier)
    {
        Console.WriteLine($"CPU: {Machine.CpuName()}; kernels at {Simd.Describe(Simd.Default)}");
        var squad = BeirDataset.Load(Path.Combine(RepositoryPaths.Shared, "data", "squad-dev-retrieval"));
        var stsb = RetrievalTask.Load(Path.Combine(RepositoryPaths.Shared, "data", "stsb", "paraphrase-retrieval.jsonl"), BenchModels.StsSentences());
        Console.WriteLine("| model | dimensions | codes | rescore × | bytes/vector | SQuAD nDCG@10 | kept | SQuAD MRR@10 | kept | STS-B MRR@10 | kept | STS-B R@1 | kept | SQuAD recall@10 of float32's top 10 |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var name in models)
        {
            var embedder = Embedder.Load(BenchModels.Directory(name));
            var evaluator = new Evaluator(embedder);
            var clock = Stopwatch.StartNew();
            var squadCorpus = evaluator.EmbedCorpusVectors(squad);
            var squadQueries = evaluator.EmbedJudgedQueries(squad);
            var stsCorpus = evaluator.EmbedCorpusVectors(stsb);
            var stsQueries = evaluator.EmbedQueries(stsb);
            Console.Error.WriteLine($"{name}: embedded in {clock.Elapsed.TotalSeconds:F0} s");
            (double Ndcg, double Mrr, double StsMrr, double StsR1)? full = null;
            IReadOnlyList<QueryRanking>? fullRankings = null;
            foreach (var dimensions in Dimensions.Where(d => d <= embedder.Dimension))
            {
                foreach (var (form, rescore) in new (VectorQuantization?, int)[] { (null, 0), (VectorQuantization.Int8, 0), (VectorQuantization.Int8, multiplier), (VectorQuantization.Binary, 0), (VectorQuantization.Binary, multiplier) })
                {
                    var setting = new CompressionSetting(dimensions, form, rescore);
                    using var squadSearch = new CompressedSearch(squadCorpus, setting);
                    using var stsSearch = new CompressedSearch(stsCorpus, setting);
                    var rankings = Evaluator.RankCompressed(squad, squadQueries, squadSearch);
                    fullRankings ??= rankings;
                    var overlap = rankings.Select((r, q) => r.Documents.Take(10).Intersect(fullRankings[q].Documents.Take(10)).Count() / 10.0).Average();
                    var ranked = Evaluator.Score(squad, rankings);
                    var paraphrase = Evaluator.Retrieval(stsb, stsQueries, stsSearch);
                    var figures = (Ndcg: ranked.NdcgAt10, Mrr: ranked.MrrAt10, StsMrr: paraphrase.MrrAt10, StsR1: paraphrase.RecallAt1);
                    full ??= figures;
                    string Kept(double value, double reference) => (100 * value / reference).ToString("F1", CultureInfo.InvariantCulture) + "%";
                    string F(double value) => (100 * value).ToString("F2", CultureInfo.InvariantCulture);
                    var codes = form switch { VectorQuantization.Int8 => "int8", VectorQuantization.Binary => "binary", _ => "float32" };
                    Console.WriteLine($"| {name} | {dimensions} | {codes} | {(rescore == 0 ? "—" : rescore.ToString(CultureInfo.InvariantCulture))} | {squadSearch.BytesPerVector} | "
                        + $"{F(figures.Ndcg)} | {Kept(figures.Ndcg, full.Value.Ndcg)} | {F(figures.Mrr)} | {Kept(figures.Mrr, full.Value.Mrr)} | "
                        + $"{F(figures.StsMrr)} | {Kept(figures.StsMrr, full.Value.StsMrr)} | {F(figures.StsR1)} | {Kept(figures.StsR1, full.Value.StsR1)} | {F(overlap)}% |");
                }
            }
        }

        return 0;
    }
}
