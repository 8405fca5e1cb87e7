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

/// <summary>One query's ranking of a BEIR corpus.</summary>
/// <param name="Query">The query.</param>
/// <param name="Documents">Indexes into <see cref="BeirDataset.Corpus"/>, best first.</param>
public sealed record QueryRanking(BeirQuery Query, IReadOnlyList<int> Documents);

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
        var index = Index(task.Corpus, pooling, cancellationToken);
        var vectors = EmbedQueries(task, pooling, queryInstruction, cancellationToken);
        return Retrieval(task, vectors, (query, depth) => [.. index.Search(query, depth).Select(h => h.Index)]);
    }

    /// <summary>The task's queries embedded as <see cref="Retrieval(RetrievalTask, PoolingMode?, bool, CancellationToken)"/> embeds them, row q for query q.</summary>
    public EmbeddingMatrix EmbedQueries(RetrievalTask task, PoolingMode? pooling = null, bool queryInstruction = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var queries = task.Queries.Select(q => q.Query).ToList();
        return queryInstruction ? _embedder.EncodeQueries(queries, Options(pooling), progress, cancellationToken) : _embedder.Encode(queries, Options(pooling), progress, cancellationToken);
    }

    /// <summary>The task's corpus embedded (no instruction), row i for sentence i.</summary>
    public EmbeddingMatrix EmbedCorpusVectors(RetrievalTask task, PoolingMode? pooling = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        return _embedder.Encode(task.Corpus, Options(pooling), progress, cancellationToken);
    }

    /// <summary>Paraphrase retrieval over a compressed corpus: the task's metrics with <paramref name="corpus"/> searching.</summary>
    /// <param name="task">Queries and corpus.</param>
    /// <param name="queries">The queries' full-width embeddings (<see cref="EmbedQueries(RetrievalTask, PoolingMode?, bool, CancellationToken)"/>).</param>
    /// <param name="corpus">The corpus's embeddings (<see cref="EmbedCorpusVectors(RetrievalTask, PoolingMode?, CancellationToken)"/>) under one setting.</param>
    public static RetrievalResult Retrieval(RetrievalTask task, EmbeddingMatrix queries, CompressedSearch corpus)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        return Retrieval(task, queries, corpus.Search);
    }

    private delegate IReadOnlyList<int> Searcher(ReadOnlySpan<float> query, int depth);

    private static RetrievalResult Retrieval(RetrievalTask task, EmbeddingMatrix vectors, Searcher search)
    {
        var queries = task.Queries.Select(q => q.Query).ToList();
        double hitsAt1 = 0, hitsAt10 = 0, reciprocal = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            // One extra hit, for the query's own text, which does not count.
            var query = task.Queries[q];
            var ranked = search(vectors.Row(q), 11).Select(i => task.Corpus[i]).Where(text => text != query.Query).Take(10).ToList();
            var rank = ranked.FindIndex(text => text == query.Relevant) + 1;
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
    public RankedRetrievalResult Retrieval(BeirDataset data, EmbeddingIndex corpus, PoolingMode? pooling = null, bool queryInstruction = true, CancellationToken cancellationToken = default) =>
        Score(data, Rank(data, corpus, pooling, queryInstruction, 100, cancellationToken));

    /// <summary>
    /// The first-stage ranking of each judged query of the data set (those with a relevant document, in file order):
    /// the <paramref name="depth"/> best documents under dot-product search of the embedded corpus, ties in corpus order.
    /// </summary>
    /// <param name="data">The data set.</param>
    /// <param name="corpus">Its corpus, from <see cref="EmbedCorpus"/> with the same pooling.</param>
    /// <param name="pooling">The pooling; the model's trained one when null.</param>
    /// <param name="queryInstruction">Prepend the model's query instruction to the queries.</param>
    /// <param name="depth">Documents kept per query (100 is what <see cref="Score"/>'s Recall@100 needs).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The index does not hold the data set's corpus in this model's embeddings.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="depth"/> is below 1.</exception>
    public IReadOnlyList<QueryRanking> Rank(BeirDataset data, EmbeddingIndex corpus, PoolingMode? pooling = null, bool queryInstruction = true, int depth = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        if (corpus.Count != data.Corpus.Count || corpus.Dimension != _embedder.Dimension)
        {
            throw new ArgumentException($"an index of {corpus.Count} documents of dimension {corpus.Dimension} for {data.Corpus.Count} documents of dimension {_embedder.Dimension}", nameof(corpus));
        }

        var judged = Judged(data);
        var texts = judged.Select(q => q.Text).ToList();
        var vectors = queryInstruction ? _embedder.EncodeQueries(texts, Options(pooling), progress, cancellationToken) : _embedder.Encode(texts, Options(pooling), progress, cancellationToken);
        return [.. judged.Select((query, q) => new QueryRanking(query, [.. corpus.Search(vectors.Row(q), depth).Select(hit => hit.Index)]))];
    }

    /// <summary>A BEIR corpus's embeddings (no instruction), row i for document i, for <see cref="CompressedSearch"/>.</summary>
    public EmbeddingMatrix EmbedCorpusVectors(BeirDataset data, bool titles = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return _embedder.EncodeCorpus([.. data.Corpus.Select(d => d.Embedded(titles))], null, progress, cancellationToken);
    }

    /// <summary>The judged queries' embeddings (those <see cref="Score"/> counts, in file order), for <see cref="RankCompressed"/>.</summary>
    public EmbeddingMatrix EmbedJudgedQueries(BeirDataset data, bool queryInstruction = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var texts = Judged(data).Select(q => q.Text).ToList();
        return queryInstruction ? _embedder.EncodeQueries(texts, null, progress, cancellationToken) : _embedder.Encode(texts, null, progress, cancellationToken);
    }

    /// <summary>The ranking of each judged query by a compressed search of the corpus (see <see cref="CompressedSearch"/>).</summary>
    /// <param name="data">The data set.</param>
    /// <param name="queries">From <see cref="EmbedJudgedQueries"/>.</param>
    /// <param name="corpus">The corpus's embeddings (<see cref="EmbedCorpusVectors(BeirDataset, bool, CancellationToken)"/>) under one setting.</param>
    /// <param name="depth">Documents kept per query.</param>
    public static IReadOnlyList<QueryRanking> RankCompressed(BeirDataset data, EmbeddingMatrix queries, CompressedSearch corpus, int depth = 100)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        var judged = Judged(data);
        if (queries.Rows != judged.Count)
        {
            throw new ArgumentException($"{queries.Rows} query embeddings for {judged.Count} judged queries", nameof(queries));
        }

        return [.. judged.Select((query, q) => new QueryRanking(query, corpus.Search(queries.Row(q), depth)))];
    }

    /// <summary>Embeds a BEIR corpus once into a hybrid index of the outputs <paramref name="kinds"/> names (bge-m3's dense, sparse and ColBERT).</summary>
    /// <param name="data">The data set.</param>
    /// <param name="kinds">The outputs to hold; each must be one the model has.</param>
    /// <param name="titles">Join each title to its text, as BEIR does.</param>
    /// <param name="colbertStorage">How the index keeps ColBERT vectors.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public HybridIndex EmbedCorpusHybrid(BeirDataset data, EncoderOutputs kinds, bool titles = true, MultiVectorStorage colbertStorage = MultiVectorStorage.Float32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var index = new HybridIndex(kinds, colbertStorage);
        index.Add(_embedder, [.. data.Corpus.Select(d => d.Embedded(titles))], progress, cancellationToken);
        return index;
    }

    /// <summary>
    /// The ranking of each judged query by hybrid search (<see cref="HybridIndex.Search"/>): dense and sparse scores
    /// fused over every document, the best 100 (or <paramref name="depth"/>) rescored with ColBERT when the index holds it.
    /// </summary>
    /// <param name="data">The data set.</param>
    /// <param name="corpus">Its corpus, from <see cref="EmbedCorpusHybrid"/>.</param>
    /// <param name="weights">The fusion weights (FlagEmbedding's when null).</param>
    /// <param name="queryInstruction">Prepend the model's query instruction to the queries.</param>
    /// <param name="depth">Documents kept per query.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">The index does not hold the data set's corpus.</exception>
    public IReadOnlyList<QueryRanking> RankHybrid(BeirDataset data, HybridIndex corpus, HybridWeights? weights = null, bool queryInstruction = true, int depth = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        if (corpus.Count != data.Corpus.Count)
        {
            throw new ArgumentException($"an index of {corpus.Count} documents for {data.Corpus.Count} documents", nameof(corpus));
        }

        var judged = Judged(data);
        var instruction = queryInstruction ? _embedder.QueryInstruction ?? "" : "";
        var outputs = _embedder.EncodeOutputs([.. judged.Select(q => instruction + q.Text)], corpus.Kinds, null, progress, cancellationToken);
        return [.. judged.Select((query, q) => new QueryRanking(query, [.. corpus.Search(outputs, q, depth, weights, Math.Max(100, depth)).Select(hit => hit.Document)]))];
    }

    // The queries with at least one relevant document, in file order.
    private static List<BeirQuery> Judged(BeirDataset data) =>
        [.. data.Queries.Where(q => data.Judgements.TryGetValue(q.Id, out var j) && RetrievalMetrics.HasRelevant(j))];

    /// <summary>
    /// nDCG@10, MRR@10, Recall@1/@10/@100 and MAP@10 of rankings of the data set's judged queries, however they were
    /// made (<see cref="Rank"/>, then perhaps <see cref="RetrievalReranker.Rerank"/>).
    /// </summary>
    /// <param name="data">The data set whose judgements score the rankings.</param>
    /// <param name="rankings">One ranking per judged query.</param>
    /// <exception cref="ArgumentException">A ranking's query has no relevant document, or a document index is outside the corpus.</exception>
    public static RankedRetrievalResult Score(BeirDataset data, IReadOnlyList<QueryRanking> rankings)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(rankings);
        double ndcg = 0, mrr = 0, r1 = 0, r10 = 0, r100 = 0, map = 0;
        foreach (var ranked in rankings)
        {
            if (!data.Judgements.TryGetValue(ranked.Query.Id, out var judgements) || !RetrievalMetrics.HasRelevant(judgements))
            {
                throw new ArgumentException($"query '{ranked.Query.Id}' has no relevant document in the data set", nameof(rankings));
            }

            if (ranked.Documents.Any(d => (uint)d >= (uint)data.Corpus.Count))
            {
                throw new ArgumentException($"query '{ranked.Query.Id}' ranks a document outside the corpus of {data.Corpus.Count}", nameof(rankings));
            }

            var ranking = ranked.Documents.Select(d => data.Corpus[d].Id).ToList();
            ndcg += RetrievalMetrics.Ndcg(ranking, judgements, 10);
            mrr += RetrievalMetrics.ReciprocalRank(ranking, judgements, 10);
            r1 += RetrievalMetrics.Recall(ranking, judgements, 1);
            r10 += RetrievalMetrics.Recall(ranking, judgements, 10);
            r100 += RetrievalMetrics.Recall(ranking, judgements, 100);
            map += RetrievalMetrics.AveragePrecision(ranking, judgements, 10);
        }

        var n = Math.Max(1, rankings.Count);
        return new RankedRetrievalResult(ndcg / n, mrr / n, r1 / n, r10 / n, r100 / n, map / n, rankings.Count, data.Queries.Count - rankings.Count);
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
