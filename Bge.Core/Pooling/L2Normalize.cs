using Bge.Core.Kernels;

namespace Bge.Core.Pooling;

/// <summary>L2 normalization, as sentence-transformers' Normalize: v / max(‖v‖, 1e-12).</summary>
public static class L2Normalize
{
    /// <summary>Scales <paramref name="vector"/> to unit length in place (a zero vector stays zero), at the widest width this CPU accelerates.</summary>
    public static void InPlace(Span<float> vector) => InPlace(vector, Simd.Hardware);

    /// <summary>Scales <paramref name="vector"/> to unit length in place (a zero vector stays zero), at <paramref name="simd"/>.</summary>
    public static unsafe void InPlace(Span<float> vector, SimdWidth simd)
    {
        fixed (float* v = vector)
        {
            var norm = MathF.Sqrt(RowMath.SumOfSquares(v, vector.Length, simd));
            RowMath.Divide(v, MathF.Max(norm, 1e-12f), vector.Length, simd);
        }
    }
}
