using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// Softmax of a row, shifted by its maximum so large scores cannot overflow. Shifted scores are floored at −30:
/// e⁻³⁰ ≈ 9.4e-14, so neither a probability nor its product with a value vector is ever subnormal (subnormal
/// operands make the multiply-adds that touch them many times slower), while the change is five orders of
/// magnitude below the float resolution of the row's sum, which is at least 1. Three passes: the maximum, then
/// exponentials and their sum together, then the division.
/// </summary>
public static class Softmax
{
    private const float Floor = -30f;
    private const float Log2E = 1.44269504088896341f;

    // ln 2 split in two so that n·ln2 is subtracted without rounding error (Cody–Waite).
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;

    // Minimax polynomial for eʳ on |r| ≤ ln2/2 (Cephes expf): eʳ ≈ 1 + r + r²·P(r).
    private const float P0 = 1.9875691500e-4f;
    private const float P1 = 1.3981999507e-3f;
    private const float P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f;
    private const float P4 = 1.6666665459e-1f;
    private const float P5 = 5.0000001201e-1f;

    /// <summary>Replaces <paramref name="row"/> by its softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> row)
    {
        var max = TensorPrimitives.Max(row);
        var sum = 0f;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var start = ref MemoryMarshal.GetReference(row);
            var shift = Vector256.Create(max);
            var total = Vector256<float>.Zero;
            for (; i <= row.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var e = Exp(Vector256.LoadUnsafe(ref start, (nuint)i) - shift);
                total += e;
                e.StoreUnsafe(ref start, (nuint)i);
            }

            sum = Vector256.Sum(total);
        }

        for (; i < row.Length; i++)
        {
            row[i] = Exp(row[i] - max);
            sum += row[i];
        }

        TensorPrimitives.Multiply(row, 1f / sum, row);
    }

    /// <summary>e^max(x, −30), within two float ulps of the exact value (tested against <see cref="Math.Exp"/>).</summary>
    public static float Exp(float x) => Exp(Vector256.Create(x)).ToScalar();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Max(x, Vector256.Create(Floor));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        // 2ⁿ built in the exponent field; n ≥ −44 here, so it is always a normal float.
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>The scalar twin, in double.</summary>
    public static void Reference(Span<float> row)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        foreach (var v in row)
        {
            sum += Math.Exp(v - max);
        }

        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (float)(Math.Exp(row[i] - max) / sum);
        }
    }
}
