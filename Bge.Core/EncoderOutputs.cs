namespace Bge.Core;

/// <summary>What one forward pass of a bge-m3-style model gives, as flags: any combination in one pass.</summary>
[Flags]
public enum EncoderOutputs
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The pooled embedding (the model's trained pooling, L2-normalized unless asked otherwise).</summary>
    Dense = 1,

    /// <summary>Lexical weights per token id (<c>sparse_linear.pt</c>).</summary>
    Sparse = 2,

    /// <summary>ColBERT multi-vectors (<c>colbert_linear.pt</c>).</summary>
    ColBert = 4,
}

/// <summary>The outputs of <see cref="Embedder.EncodeOutputs"/> and <see cref="Embedder.EncodeBatchOutputs"/>, each null unless asked for; row <c>i</c> is text (or sequence) <c>i</c>'s.</summary>
/// <param name="Dense">The embeddings.</param>
/// <param name="Sparse">The lexical weights.</param>
/// <param name="ColBert">The multi-vectors.</param>
public sealed record EncodeResult(EmbeddingMatrix? Dense, SparseVector[]? Sparse, MultiVector[]? ColBert);

/// <summary>
/// bge-m3's hybrid score, as FlagEmbedding's <c>compute_score</c> forms it: the weighted sum of the dense, sparse and
/// ColBERT scores of the kinds asked for, divided by the sum of their weights.
/// </summary>
/// <param name="Dense">Weight of the dense score (dot product of normalized embeddings).</param>
/// <param name="Sparse">Weight of the lexical score.</param>
/// <param name="ColBert">Weight of the multi-vector score.</param>
public sealed record HybridWeights(float Dense = 0.4f, float Sparse = 0.2f, float ColBert = 0.4f)
{
    /// <summary>FlagEmbedding's default weights, 0.4 / 0.2 / 0.4.</summary>
    public static HybridWeights Default { get; } = new();

    /// <summary>The weighted mean of the scores given (null: that kind is not part of the sum).</summary>
    /// <exception cref="ArgumentException">No score is given, or the weights of those given sum to zero or less.</exception>
    public float Combine(float? dense, float? sparse, float? colbert)
    {
        var total = (dense is null ? 0 : Dense) + (sparse is null ? 0 : Sparse) + (colbert is null ? 0 : ColBert);
        if (dense is null && sparse is null && colbert is null || !(total > 0))
        {
            throw new ArgumentException($"a hybrid score needs at least one score whose weights sum above zero (weights {Dense}, {Sparse}, {ColBert})");
        }

        return (((dense ?? 0) * Dense) + ((sparse ?? 0) * Sparse) + ((colbert ?? 0) * ColBert)) / total;
    }
}
