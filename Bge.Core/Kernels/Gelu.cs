using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>GELU in its exact erf form, as Hugging Face's "gelu": 0.5·x·(1 + erf(x/√2)).</summary>
public static class Gelu
{
    private const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>GELU of one value.</summary>
    public static float Reference(float x) => (float)(0.5 * x * (1 + Erf.Reference(x / Math.Sqrt(2))));

    /// <summary>Applies GELU in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> values)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            var one = Vector256.Create(1f);
            var scale = Vector256.Create(InvSqrt2);
            ref var start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref start, (nuint)i);
                (half * x * (one + Erf.Compute(x * scale))).StoreUnsafe(ref start, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            var x = values[i];
            values[i] = 0.5f * x * (1f + Erf.Compute(x * InvSqrt2));
        }
    }
}
