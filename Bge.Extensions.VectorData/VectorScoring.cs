using System.Numerics.Tensors;
using Microsoft.Extensions.VectorData;

namespace Bge.Extensions.VectorData;

/// <summary>
/// The distance functions the store searches with, each computed as Bge scores its own indexes: float32 rows through
/// <see cref="TensorPrimitives"/>. Cosine similarity is the dot product divided by both norms (kept per row), so for
/// Bge's normalized embeddings it equals the engine's dot-product similarity to within rounding.
/// </summary>
internal enum VectorScoring
{
    CosineSimilarity,
    DotProductSimilarity,
    EuclideanDistance,
}

internal static class VectorScoringExtensions
{
    public const string Supported = "CosineSimilarity (the default), DotProductSimilarity and EuclideanDistance";

    /// <summary>The scoring a vector property asks for; null is cosine similarity.</summary>
    /// <exception cref="NotSupportedException">Any other distance function, named.</exception>
    public static VectorScoring Parse(string? distanceFunction, string property) => distanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity => VectorScoring.CosineSimilarity,
        DistanceFunction.DotProductSimilarity => VectorScoring.DotProductSimilarity,
        DistanceFunction.EuclideanDistance => VectorScoring.EuclideanDistance,
        _ => throw new NotSupportedException($"vector property '{property}' asks for distance function '{distanceFunction}'; Bge's vector store supports {Supported}"),
    };

    /// <summary>The score reported for a row: a similarity, or for Euclidean a distance. NaN for a zero vector under cosine.</summary>
    public static float Score(this VectorScoring scoring, ReadOnlySpan<float> query, float queryNorm, ReadOnlySpan<float> row, float rowNorm) => scoring switch
    {
        VectorScoring.CosineSimilarity => TensorPrimitives.Dot(query, row) / (queryNorm * rowNorm),
        VectorScoring.DotProductSimilarity => TensorPrimitives.Dot(query, row),
        _ => TensorPrimitives.Distance(query, row),
    };

    /// <summary>The score as a rank key, higher better: distances are negated, which is exact in floating point.</summary>
    public static float Rank(this VectorScoring scoring, float score) =>
        scoring == VectorScoring.EuclideanDistance ? -score : score;

    /// <summary>Whether a score meets <see cref="VectorSearchOptions{TRecord}.ScoreThreshold"/>: at least it for similarities, at most it for distances.</summary>
    public static bool Meets(this VectorScoring scoring, float score, double? threshold) =>
        threshold is not { } limit || (scoring == VectorScoring.EuclideanDistance ? score <= limit : score >= limit);
}
