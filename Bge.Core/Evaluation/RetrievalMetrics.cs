namespace Bge.Core.Evaluation;

/// <summary>
/// Ranked-retrieval metrics as MTEB reports them (pytrec_eval's <c>ndcg_cut</c>, <c>map_cut</c> and <c>recall</c>,
/// MTEB's own MRR), for one query's ranking against its relevance judgements. A document is relevant when its
/// judged score is above 0; nDCG uses the judged score itself as the gain (linear gain, as trec_eval).
/// </summary>
public static class RetrievalMetrics
{
    /// <summary>nDCG@k: Σ gainᵢ / log₂(i + 1) over the first k ranks, divided by the same sum for the ideal order.</summary>
    /// <param name="ranking">Document ids, best first.</param>
    /// <param name="judgements">Judged document ids and their graded scores (unjudged documents score 0).</param>
    /// <param name="k">The cut-off.</param>
    public static double Ndcg(IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, int k)
    {
        Check(ranking, judgements, k);
        double dcg = 0, ideal = 0;
        for (var i = 0; i < Math.Min(k, ranking.Count); i++)
        {
            dcg += Gain(judgements, ranking[i]) / Math.Log2(i + 2);
        }

        var best = judgements.Values.Where(v => v > 0).OrderByDescending(v => v).Take(k).ToList();
        for (var i = 0; i < best.Count; i++)
        {
            ideal += best[i] / Math.Log2(i + 2);
        }

        return ideal == 0 ? 0 : dcg / ideal;
    }

    /// <summary>MRR@k: 1 / rank of the first relevant document within the first k, else 0.</summary>
    public static double ReciprocalRank(IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, int k)
    {
        Check(ranking, judgements, k);
        for (var i = 0; i < Math.Min(k, ranking.Count); i++)
        {
            if (Gain(judgements, ranking[i]) > 0)
            {
                return 1.0 / (i + 1);
            }
        }

        return 0;
    }

    /// <summary>Recall@k: relevant documents within the first k ÷ all relevant documents.</summary>
    public static double Recall(IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, int k)
    {
        Check(ranking, judgements, k);
        var relevant = Relevant(judgements);
        return relevant == 0 ? 0 : (double)ranking.Take(k).Count(d => Gain(judgements, d) > 0) / relevant;
    }

    /// <summary>AP@k (trec_eval's map_cut): Σ precision@i over the relevant ranks i ≤ k, ÷ all relevant documents.</summary>
    public static double AveragePrecision(IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, int k)
    {
        Check(ranking, judgements, k);
        var relevant = Relevant(judgements);
        double sum = 0;
        var found = 0;
        for (var i = 0; i < Math.Min(k, ranking.Count); i++)
        {
            if (Gain(judgements, ranking[i]) > 0)
            {
                found++;
                sum += (double)found / (i + 1);
            }
        }

        return relevant == 0 ? 0 : sum / relevant;
    }

    /// <summary>Whether a query has any relevant document (queries without one are left out of the means, as pytrec_eval does with unjudged queries).</summary>
    public static bool HasRelevant(IReadOnlyDictionary<string, int> judgements)
    {
        ArgumentNullException.ThrowIfNull(judgements);
        return Relevant(judgements) > 0;
    }

    private static int Relevant(IReadOnlyDictionary<string, int> judgements) => judgements.Values.Count(v => v > 0);

    private static int Gain(IReadOnlyDictionary<string, int> judgements, string document) =>
        judgements.TryGetValue(document, out var score) && score > 0 ? score : 0;

    private static void Check(IReadOnlyList<string> ranking, IReadOnlyDictionary<string, int> judgements, int k)
    {
        ArgumentNullException.ThrowIfNull(ranking);
        ArgumentNullException.ThrowIfNull(judgements);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
    }
}
