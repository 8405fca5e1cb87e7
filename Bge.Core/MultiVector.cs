using System.Numerics.Tensors;

namespace Bge.Core;

/// <summary>ColBERT vectors of one text (bge-m3's multi-vector output): one L2-normalized row per token but the first.</summary>
/// <param name="Data">[Count × Dimension], row-major.</param>
/// <param name="Count">Number of vectors.</param>
/// <param name="Dimension">Width of each.</param>
public sealed record MultiVector(float[] Data, int Count, int Dimension)
{
    /// <summary>Vector <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Row(int index) => Data.AsSpan(index * Dimension, Dimension);

    /// <summary>
    /// Late interaction, as FlagEmbedding's <c>colbert_score</c>: for each of this (query) text's vectors the largest dot
    /// product with a vector of <paramref name="passage"/>, averaged over this text's vectors; 0 when either has none.
    /// </summary>
    public float MaxSim(MultiVector passage)
    {
        ArgumentNullException.ThrowIfNull(passage);
        if (passage.Dimension != Dimension)
        {
            throw new ArgumentException($"dimensions differ: {Dimension} and {passage.Dimension}", nameof(passage));
        }

        return MaxSim(Data.AsSpan(0, Count * Dimension), Count, passage.Data.AsSpan(0, passage.Count * Dimension), passage.Count, Dimension);
    }

    // query [queryCount × dimension], passage [passageCount × dimension] → mean over query rows of the best dot product.
    internal static float MaxSim(ReadOnlySpan<float> query, int queryCount, ReadOnlySpan<float> passage, int passageCount, int dimension)
    {
        if (queryCount == 0 || passageCount == 0)
        {
            return 0f;
        }

        var sum = 0f;
        for (var q = 0; q < queryCount; q++)
        {
            var row = query.Slice(q * dimension, dimension);
            var best = float.NegativeInfinity;
            for (var p = 0; p < passageCount; p++)
            {
                best = Math.Max(best, TensorPrimitives.Dot(row, passage.Slice(p * dimension, dimension)));
            }

            sum += best;
        }

        return sum / queryCount;
    }
}
