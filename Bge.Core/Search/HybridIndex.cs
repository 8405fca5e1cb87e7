using System.Numerics.Tensors;

namespace Bge.Core.Search;

/// <summary>
/// Exact hybrid retrieval over bge-m3's three outputs, held in memory: dense vectors scanned in full, lexical weights
/// through an inverted index (token id → the documents holding it and their weights), and ColBERT vectors used to
/// rescore the best candidates of the first two, since late interaction is too costly for every document. Scores
/// are fused by <see cref="HybridWeights"/> over the kinds the search uses.
/// </summary>
public sealed class HybridIndex
{
    private readonly List<float[]> _dense = [];
    private readonly List<SparseVector> _sparse = [];
    private readonly MultiVectorStore _colbert;
    private readonly Dictionary<int, List<(int Document, float Weight)>> _postings = [];

    /// <summary>Creates an empty index of the outputs <paramref name="kinds"/> names, its ColBERT vectors kept as <paramref name="colbertStorage"/> says.</summary>
    /// <exception cref="ArgumentException">No kind is named.</exception>
    public HybridIndex(EncoderOutputs kinds, MultiVectorStorage colbertStorage = MultiVectorStorage.Float32)
    {
        Kinds = kinds != EncoderOutputs.None ? kinds : throw new ArgumentException("name at least one of Dense, Sparse, ColBert", nameof(kinds));
        _colbert = Enum.IsDefined(colbertStorage) ? new MultiVectorStore(colbertStorage) : throw new ArgumentOutOfRangeException(nameof(colbertStorage), colbertStorage, "not a MultiVectorStorage");
    }

    /// <summary>The outputs each document holds.</summary>
    public EncoderOutputs Kinds { get; }

    /// <summary>Documents held.</summary>
    public int Count { get; private set; }

    /// <summary>How the ColBERT vectors are kept.</summary>
    public MultiVectorStorage ColBertStorage => _colbert.Storage;

    /// <summary>Bytes the ColBERT vectors take as kept (<see cref="ColBertStorage"/>), the largest part of the index.</summary>
    public long ColBertBytes => _colbert.Bytes;

    /// <summary>Embeds documents (no instruction) with every kind of <see cref="Kinds"/> and adds them; document <c>i</c> is the <c>i</c>-th added.</summary>
    public void Add(Embedder embedder, IReadOnlyList<string> documents, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        Add(embedder.EncodeOutputs(documents, Kinds, null, progress, cancellationToken));
    }

    /// <summary>Adds documents' outputs (each kind of <see cref="Kinds"/> present).</summary>
    /// <exception cref="ArgumentException">A kind the index holds is missing.</exception>
    public void Add(EncodeResult outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var rows = Rows(outputs);
        for (var i = 0; i < rows; i++)
        {
            var document = Count++;
            if (Kinds.HasFlag(EncoderOutputs.Dense))
            {
                _dense.Add(outputs.Dense!.RowArray(i));
            }

            if (Kinds.HasFlag(EncoderOutputs.Sparse))
            {
                var sparse = outputs.Sparse![i];
                _sparse.Add(sparse);
                for (var k = 0; k < sparse.Count; k++)
                {
                    if (!_postings.TryGetValue(sparse.Ids[k], out var list))
                    {
                        _postings[sparse.Ids[k]] = list = [];
                    }

                    list.Add((document, sparse.Weights[k]));
                }
            }

            if (Kinds.HasFlag(EncoderOutputs.ColBert))
            {
                _colbert.Add(outputs.ColBert![i]);
            }
        }
    }

    private int Rows(EncodeResult outputs)
    {
        int? rows = null;
        void Check(bool asked, int? count, string kind)
        {
            if (asked && count is null)
            {
                throw new ArgumentException($"the index holds {kind} outputs; these have none", nameof(outputs));
            }

            if (asked)
            {
                rows = rows is null || rows == count ? count : throw new ArgumentException("the outputs' kinds differ in length", nameof(outputs));
            }
        }

        Check(Kinds.HasFlag(EncoderOutputs.Dense), outputs.Dense?.Rows, "dense");
        Check(Kinds.HasFlag(EncoderOutputs.Sparse), outputs.Sparse?.Length, "sparse");
        Check(Kinds.HasFlag(EncoderOutputs.ColBert), outputs.ColBert?.Length, "ColBERT");
        return rows ?? 0;
    }

    /// <summary>
    /// The <paramref name="k"/> best documents for query <paramref name="row"/> of <paramref name="query"/>: every document
    /// scored by the fused dense and sparse scores, then the best <paramref name="candidates"/> rescored with ColBERT
    /// added (when the index holds it), ties in document order.
    /// </summary>
    /// <param name="query">The query's outputs, with the index's kinds.</param>
    /// <param name="row">Which of them.</param>
    /// <param name="k">Documents returned at most.</param>
    /// <param name="weights">The fusion weights (FlagEmbedding's 0.4 / 0.2 / 0.4 when null).</param>
    /// <param name="candidates">First-stage documents rescored with ColBERT (at least <paramref name="k"/>).</param>
    public IReadOnlyList<(int Document, float Score)> Search(EncodeResult query, int row, int k, HybridWeights? weights = null, int candidates = 100)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        weights ??= HybridWeights.Default;
        var dense = Kinds.HasFlag(EncoderOutputs.Dense) ? (query.Dense ?? throw new ArgumentException("the query has no dense output", nameof(query))).Row(row).ToArray() : null;
        var sparse = Kinds.HasFlag(EncoderOutputs.Sparse) ? (query.Sparse ?? throw new ArgumentException("the query has no sparse output", nameof(query)))[row] : null;
        var colbert = Kinds.HasFlag(EncoderOutputs.ColBert) ? (query.ColBert ?? throw new ArgumentException("the query has no ColBERT output", nameof(query)))[row] : null;

        var lexical = new float[Count];
        if (sparse is not null)
        {
            for (var i = 0; i < sparse.Count; i++)
            {
                if (_postings.TryGetValue(sparse.Ids[i], out var list))
                {
                    foreach (var (document, weight) in list)
                    {
                        lexical[document] += sparse.Weights[i] * weight;
                    }
                }
            }
        }

        // Each document's dense score once: the first stage ranks by it, ColBERT's rescoring adds to it.
        var similarities = dense is null ? null : Enumerable.Range(0, Count).Select(d => TensorPrimitives.Dot(dense, _dense[d])).ToArray();
        float? Dense(int d) => similarities?[d];
        float? Lexical(int d) => sparse is null ? null : lexical[d];
        var fused = dense is null && sparse is null ? null
            : Enumerable.Range(0, Count).Select(d => (Document: d, Score: weights.Combine(Dense(d), Lexical(d), null)))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Document).ToList();
        if (colbert is null)
        {
            return [.. fused!.Take(k)];
        }

        if (Count > 0 && colbert.Dimension != _colbert.Dimension)
        {
            throw new ArgumentException($"the query's ColBERT vectors are {colbert.Dimension} wide, the index's {_colbert.Dimension}", nameof(query));
        }

        var pool = fused is null ? Enumerable.Range(0, Count) : fused.Take(Math.Max(k, candidates)).Select(x => x.Document);
        var scratch = _colbert.Storage == MultiVectorStorage.Float32 ? [] : new float[_colbert.LargestDocument];
        return [.. pool.Select(d => (Document: d, Score: weights.Combine(Dense(d), Lexical(d), _colbert.MaxSim(colbert, d, scratch))))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Document).Take(k)];
    }
}
