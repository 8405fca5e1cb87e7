using Bge.Core.Search;
using Bge.Weights;

namespace Bge.Core.Evaluation;

/// <summary>STS-B correlation: Spearman's ρ between cosine similarity and the gold score.</summary>
/// <param name="Spearman">ρ, in [−1, 1] (MTEB reports it × 100).</param>
/// <param name="Pairs">Pairs scored.</param>
public sealed record StsResult(double Spearman, int Pairs);

/// <summary>Retrieval quality over the queries of a task.</summary>
/// <param name="RecallAt1">Share of queries whose relevant document ranks first.</param>
/// <param name="RecallAt10">Share whose relevant document ranks in the top ten.</param>
/// <param name="MrrAt10">Mean of 1/rank, counting 0 for ranks past ten.</param>
/// <param name="Queries">Queries scored.</param>
public sealed record RetrievalResult(double RecallAt1, double RecallAt10, double MrrAt10, int Queries);

/// <summary>
/// Measures an embedder as MTEB does: STS by the Spearman correlation of cosine similarities with the gold
/// scores, retrieval by the rank of each query's relevant document under dot-product search of normalized
/// embeddings (<see cref="EmbeddingIndex"/>).
/// </summary>
/// <param name="embedder">The model to measure.</param>
/// <param name="progress">Receives progress of each encode, or null.</param>
public sealed class Evaluator(Embedder embedder, IProgress<EncodeProgress>? progress = null)
{
    private readonly Embedder _embedder = embedder ?? throw new ArgumentNullException(nameof(embedder));

    /// <summary>Spearman's ρ of cos(sentence 1, sentence 2) against the gold scores.</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="pooling">The pooling; the model's trained one when null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public StsResult Sts(IReadOnlyList<StsPair> pairs, PoolingMode? pooling = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var sentences = StsBenchmark.UniqueSentences(pairs);
        var row = sentences.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i, StringComparer.Ordinal);
        var embeddings = _embedder.Encode(sentences, Options(pooling), progress, cancellationToken);
        var cosines = pairs.Select(p => (double)System.Numerics.Tensors.TensorPrimitives.Dot(embeddings.Row(row[p.Sentence1]), embeddings.Row(row[p.Sentence2]))).ToList();
        return new StsResult(Spearman.Correlation(cosines, pairs.Select(p => p.Score).ToList()), pairs.Count);
    }

    /// <summary>Recall@1, Recall@10 and MRR@10 of the task's queries against its corpus.</summary>
    /// <param name="task">Queries and corpus.</param>
    /// <param name="pooling">The pooling; the model's trained one when null.</param>
    /// <param name="queryInstruction">Prepend the model's query instruction to the queries (documents never get one).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public RetrievalResult Retrieval(RetrievalTask task, PoolingMode? pooling = null, bool queryInstruction = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var options = Options(pooling);
        var index = new EmbeddingIndex(_embedder.Name, _embedder.Dimension, pooling ?? _embedder.TrainedPooling);
        index.Add(_embedder, task.Corpus, progress, cancellationToken);
        var queries = task.Queries.Select(q => q.Query).ToList();
        var vectors = queryInstruction ? _embedder.EncodeQueries(queries, options, progress, cancellationToken) : _embedder.Encode(queries, options, progress, cancellationToken);
        double hitsAt1 = 0, hitsAt10 = 0, reciprocal = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            // One extra hit, for the query's own text, which does not count.
            var query = task.Queries[q];
            var ranked = index.Search(vectors.Row(q), 11).Where(h => h.Text != query.Query).Take(10).ToList();
            var rank = ranked.FindIndex(h => h.Text == query.Relevant) + 1;
            if (rank == 1)
            {
                hitsAt1++;
            }

            if (rank > 0)
            {
                hitsAt10++;
                reciprocal += 1.0 / rank;
            }
        }

        var n = Math.Max(1, queries.Count);
        return new RetrievalResult(hitsAt1 / n, hitsAt10 / n, reciprocal / n, queries.Count);
    }

    private static EncodeOptions Options(PoolingMode? pooling) => new() { Pooling = pooling };
}
