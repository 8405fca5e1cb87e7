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

        if (Count == 0 || passage.Count == 0)
        {
            return 0f;
        }

        var sum = 0f;
        for (var q = 0; q < Count; q++)
        {
            var best = float.NegativeInfinity;
            for (var p = 0; p < passage.Count; p++)
            {
                best = Math.Max(best, TensorPrimitives.Dot(Row(q), passage.Row(p)));
            }

            sum += best;
        }

        return sum / Count;
    }
}
