namespace Bge.Core.Evaluation;

/// <summary>
/// The second stage of retrieve-then-rerank on a BEIR-layout data set: the head of each first-stage ranking
/// (<see cref="Evaluator.Rank"/>) is rescored by a cross-encoder and reordered by its logits, most relevant first
/// (ties keep their first-stage order); the documents past the head follow in their first-stage order. The passage
/// a cross-encoder reads is the document's text as the first stage embedded it (<see cref="BeirDocument.Embedded"/>),
/// the query its plain text (no instruction). Each (query, document) logit is computed once and remembered, so
/// reranking several first stages of the same data set (poolings, instructions, models) scores only new pairs.
/// Calls may come from several threads; they take turns.
/// </summary>
/// <param name="reranker">The cross-encoder (one relevance logit).</param>
/// <param name="data">The data set whose documents the rankings index.</param>
/// <param name="titles">Join each title to its text, as the first stage did.</param>
/// <param name="options">Truncation, length limit and batch size of the cross-encoder.</param>
/// <param name="progress">Told after each forward pass how many of a call's new pairs are scored.</param>
public sealed class RetrievalReranker(Reranker reranker, BeirDataset data, bool titles = true, RerankOptions? options = null, IProgress<EncodeProgress>? progress = null)
{
    private readonly Reranker _reranker = reranker ?? throw new ArgumentNullException(nameof(reranker));
    private readonly BeirDataset _data = data ?? throw new ArgumentNullException(nameof(data));
    private readonly Dictionary<(string Query, int Document), float> _logits = [];
    private readonly Lock _lock = new();

    /// <summary>The cross-encoder.</summary>
    public Reranker Reranker => _reranker;

    /// <summary>
    /// Each ranking with its first <paramref name="depth"/> documents reordered by the cross-encoder's logits and
    /// the rest after them as they were.
    /// </summary>
    /// <param name="rankings">First-stage rankings of the data set's queries.</param>
    /// <param name="depth">How many documents of each ranking are rescored.</param>
    /// <param name="cancellationToken">Checked before each forward pass.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="depth"/> is below 1, or a document index is outside the corpus.</exception>
    /// <exception cref="InvalidOperationException">The cross-encoder has more than one label.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (the logits computed so far are kept).</exception>
    public IReadOnlyList<QueryRanking> Rerank(IReadOnlyList<QueryRanking> rankings, int depth = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        lock (_lock)
        {
            var wanted = new List<(string Query, int Document)>();
            var seen = new HashSet<(string Query, int Document)>();
            var pairs = new List<(string Query, string Passage)>();
            foreach (var ranking in rankings)
            {
                foreach (var document in ranking.Documents.Take(depth))
                {
                    ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)document, (uint)_data.Corpus.Count, nameof(rankings));
                    if (!_logits.ContainsKey((ranking.Query.Id, document)) && seen.Add((ranking.Query.Id, document)))
                    {
                        wanted.Add((ranking.Query.Id, document));
                        pairs.Add((ranking.Query.Text, _data.Corpus[document].Embedded(titles)));
                    }
                }
            }

            // All new pairs in one call, so batches are packed by length across queries.
            var scored = _reranker.Score(pairs, options, progress, cancellationToken);
            for (var i = 0; i < wanted.Count; i++)
            {
                _logits[wanted[i]] = scored[i];
            }

            return [.. rankings.Select(ranking => new QueryRanking(ranking.Query, [
                .. ranking.Documents.Take(depth).OrderByDescending(d => _logits[(ranking.Query.Id, d)]),
                .. ranking.Documents.Skip(depth),
            ]))];
        }
    }
}
