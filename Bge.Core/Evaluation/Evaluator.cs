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

/// <summary>Ranked-retrieval quality over the judged queries of a BEIR-layout data set, each metric a mean in [0, 1].</summary>
/// <param name="NdcgAt10">nDCG@10, the headline figure of MTEB's retrieval tasks.</param>
/// <param name="MrrAt10">MRR@10.</param>
/// <param name="RecallAt1">Recall@1.</param>
/// <param name="RecallAt10">Recall@10.</param>
/// <param name="RecallAt100">Recall@100.</param>
/// <param name="MapAt10">MAP@10.</param>
/// <param name="Queries">Queries scored (those with at least one relevant document).</param>
/// <param name="QueriesWithoutRelevant">Queries left out because no document is judged relevant to them.</param>
public sealed record RankedRetrievalResult(double NdcgAt10, double MrrAt10, double RecallAt1, double RecallAt10, double RecallAt100, double MapAt10, int Queries, int QueriesWithoutRelevant);

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
        var index = Index(task.Corpus, pooling, cancellationToken);
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

    /// <summary>Embeds a BEIR corpus once into an index (documents never get the query instruction), to be searched by <see cref="Retrieval(BeirDataset, EmbeddingIndex, PoolingMode?, bool, CancellationToken)"/> with any query setting.</summary>
    /// <param name="data">The data set.</param>
    /// <param name="pooling">The pooling; the model's trained one when null.</param>
    /// <param name="titles">Join each title to its text, as BEIR does.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public EmbeddingIndex EmbedCorpus(BeirDataset data, PoolingMode? pooling = null, bool titles = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Index(data.Corpus.Select(d => d.Embedded(titles)).ToList(), pooling, cancellationToken);
    }

    /// <summary>nDCG@10, MRR@10, Recall@1/@10/@100 and MAP@10 of the data set's judged queries against its embedded corpus.</summary>
    /// <param name="data">The data set.</param>
    /// <param name="corpus">Its corpus, from <see cref="EmbedCorpus"/> with the same pooling; its search ranks the documents (ties: earlier document first).</param>
    /// <param name="pooling">The pooling; the model's trained one when null.</param>
    /// <param name="queryInstruction">Prepend the model's query instruction to the queries.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The index does not hold the data set's corpus in this model's embeddings.</exception>
    public RankedRetrievalResult Retrieval(BeirDataset data, EmbeddingIndex corpus, PoolingMode? pooling = null, bool queryInstruction = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(corpus);
        if (corpus.Count != data.Corpus.Count || corpus.Dimension != _embedder.Dimension)
        {
            throw new ArgumentException($"an index of {corpus.Count} documents of dimension {corpus.Dimension} for {data.Corpus.Count} documents of dimension {_embedder.Dimension}", nameof(corpus));
        }

        var judged = data.Queries.Where(q => data.Judgements.TryGetValue(q.Id, out var j) && RetrievalMetrics.HasRelevant(j)).ToList();
        var texts = judged.Select(q => q.Text).ToList();
        var vectors = queryInstruction ? _embedder.EncodeQueries(texts, Options(pooling), progress, cancellationToken) : _embedder.Encode(texts, Options(pooling), progress, cancellationToken);
        double ndcg = 0, mrr = 0, r1 = 0, r10 = 0, r100 = 0, map = 0;
        for (var q = 0; q < judged.Count; q++)
        {
            var ranking = corpus.Search(vectors.Row(q), 100).Select(hit => data.Corpus[hit.Index].Id).ToList();
            var judgements = data.Judgements[judged[q].Id];
            ndcg += RetrievalMetrics.Ndcg(ranking, judgements, 10);
            mrr += RetrievalMetrics.ReciprocalRank(ranking, judgements, 10);
            r1 += RetrievalMetrics.Recall(ranking, judgements, 1);
            r10 += RetrievalMetrics.Recall(ranking, judgements, 10);
            r100 += RetrievalMetrics.Recall(ranking, judgements, 100);
            map += RetrievalMetrics.AveragePrecision(ranking, judgements, 10);
        }

        var n = Math.Max(1, judged.Count);
        return new RankedRetrievalResult(ndcg / n, mrr / n, r1 / n, r10 / n, r100 / n, map / n, judged.Count, data.Queries.Count - judged.Count);
    }

    // The documents embedded (no instruction) into an exact-search index.
    private EmbeddingIndex Index(IReadOnlyList<string> documents, PoolingMode? pooling, CancellationToken cancellationToken)
    {
        var index = new EmbeddingIndex(_embedder.Name, _embedder.Dimension, pooling ?? _embedder.TrainedPooling);
        index.Add(_embedder, documents, progress, cancellationToken);
        return index;
    }

    private static EncodeOptions Options(PoolingMode? pooling) => new() { Pooling = pooling };
}
