using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>GELU in its exact erf form, as Hugging Face's "gelu": 0.5·x·(1 + erf(x/√2)).</summary>
public static class Gelu
{
    private const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>GELU of one value.</summary>
    public static float Reference(float x) => (float)(0.5 * x * (1 + Erf.Reference(x / Math.Sqrt(2))));

    /// <summary>Applies GELU in place at the widest width this CPU accelerates.</summary>
    public static void InPlace(Span<float> values) => InPlace(values, Simd.Hardware);

    /// <summary>Applies GELU in place at <paramref name="simd"/>; every width gives the same values.</summary>
    public static unsafe void InPlace(Span<float> values, SimdWidth simd)
    {
        fixed (float* p = values)
        {
            InPlace(p, values.Length, simd);
        }
    }

    internal static unsafe void InPlace(float* values, int length, SimdWidth simd)
    {
        var i = simd switch
        {
            SimdWidth.Vector512 => Vectorized<Vec512>(values, length),
            SimdWidth.Vector256 => Vectorized<Vec256>(values, length),
            SimdWidth.Vector128 => Vectorized<Vec128>(values, length),
            _ => Vectorized<Vec1>(values, length),
        };
        for (; i < length; i++)
        {
            var x = values[i];
            values[i] = 0.5f * x * (1f + Erf.Compute(x * InvSqrt2));
        }
    }

    // The whole vectors; returns where the scalar tail starts.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Vectorized<V>(float* values, int length)
        where V : unmanaged, IVector<V>
    {
        var (half, one, scale) = (V.Create(0.5f), V.Create(1f), V.Create(InvSqrt2));
        var i = 0;
        for (; i <= length - V.Count; i += V.Count)
        {
            var x = V.Load(values + i);
            V.Store(half * x * (one + V.Erf(x * scale)), values + i);
        }

        return i;
    }
}
