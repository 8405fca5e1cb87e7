using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Softmax of a row, shifted by its maximum so large scores cannot overflow. Shifted scores are floored at −30:
/// e⁻³⁰ ≈ 9.4e-14, so neither a probability nor its product with a value vector is ever subnormal (subnormal
/// operands make the multiply-adds that touch them many times slower), while the change is five orders of
/// magnitude below the float resolution of the row's sum, which is at least 1. Three passes: the maximum, then
/// exponentials and their sum together, then the scaling. Each element's exponential is the same at every width;
/// the sum's order, and so its last bit, depends on the width.
/// </summary>
public static class Softmax
{
    /// <summary>The floor of a shifted score: e⁻³⁰ is the smallest exponential <see cref="Exp(float)"/> gives.</summary>
    internal const float Floor = -30f;
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

    /// <summary>Replaces <paramref name="row"/> by its softmax, at the widest width this CPU accelerates.</summary>
    public static void InPlace(Span<float> row) => InPlace(row, Simd.Hardware);

    /// <summary>Replaces <paramref name="row"/> by its softmax, at <paramref name="simd"/>.</summary>
    public static unsafe void InPlace(Span<float> row, SimdWidth simd)
    {
        fixed (float* p = row)
        {
            InPlace(p, row.Length, simd);
        }
    }

    internal static unsafe void InPlace(float* row, int length, SimdWidth simd)
    {
        switch (simd)
        {
            case SimdWidth.Vector512:
                Vectorized<Vec512>(row, length);
                break;
            case SimdWidth.Vector256:
                Vectorized<Vec256>(row, length);
                break;
            case SimdWidth.Vector128:
                Vectorized<Vec128>(row, length);
                break;
            default:
                Vectorized<Vec1>(row, length);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Vectorized<V>(float* row, int length)
        where V : unmanaged, IVector<V>
    {
        var inverse = 1f / ExpInPlace<V>(row, length, Max<V>(row, length));
        var whole = length / V.Count * V.Count;
        var scale = V.Create(inverse);
        for (var i = 0; i < whole; i += V.Count)
        {
            V.Store(V.Load(row + i) * scale, row + i);
        }

        for (var i = whole; i < length; i++)
        {
            row[i] *= inverse;
        }
    }

    /// <summary>The largest of <paramref name="length"/> floats (−∞ for none): the same at every width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float Max<V>(float* row, int length)
        where V : unmanaged, IVector<V>
    {
        var whole = length / V.Count * V.Count;
        var max = float.NegativeInfinity;
        if (whole > 0)
        {
            var m = V.Load(row);
            for (var i = V.Count; i < whole; i += V.Count)
            {
                m = V.Max(m, V.Load(row + i));
            }

            max = V.MaxElement(m);
        }

        for (var i = whole; i < length; i++)
        {
            max = MathF.Max(max, row[i]);
        }

        return max;
    }

    /// <summary>
    /// Replaces each of <paramref name="length"/> floats x by e^max(x − <paramref name="shift"/>, −30) and returns
    /// their sum. Each exponential is the same at every width; the sum is taken per lane and then across, so its
    /// last bit depends on the width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float ExpInPlace<V>(float* row, int length, float shift)
        where V : unmanaged, IVector<V>
    {
        var whole = length / V.Count * V.Count;
        var shifted = V.Create(shift);
        var total = V.Zero;
        for (var i = 0; i < whole; i += V.Count)
        {
            var e = Exp(V.Load(row + i) - shifted);
            total += e;
            V.Store(e, row + i);
        }

        var sum = V.Sum(total);
        for (var i = whole; i < length; i++)
        {
            row[i] = Exp(row[i] - shift);
            sum += row[i];
        }

        return sum;
    }

    /// <summary>
    /// Σ row[0..length) in one order at every width: element j is added to lane j mod 32 (two 512-bit vectors' worth),
    /// lanes in order of j, and the 32 lanes are then added pairwise in a fixed tree. Each lane is a whole vector's
    /// lane at every width, so the widths differ only in how many passes they take over the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float SumInLanes<V>(float* row, int length)
        where V : unmanaged, IVector<V>
    {
        const int Lanes = 32;
        var lanes = stackalloc float[Lanes];
        var whole = length / Lanes * Lanes;
        for (var k = 0; k < Lanes; k += 2 * V.Count)
        {
            // Two accumulators per pass: two dependency chains instead of one.
            V even = V.Zero, odd = V.Zero;
            for (var j = k; j < whole; j += Lanes)
            {
                even += V.Load(row + j);
                odd += V.Load(row + j + V.Count);
            }

            V.Store(even, lanes + k);
            V.Store(odd, lanes + k + V.Count);
        }

        for (var j = whole; j < length; j++)
        {
            lanes[j - whole] += row[j];
        }

        for (var half = Lanes / 2; half > 0; half /= 2)
        {
            for (var l = 0; l < half; l++)
            {
                lanes[l] += lanes[l + half];
            }
        }

        return lanes[0];
    }

    /// <summary>e^max(x, −30), within two float ulps of the exact value (tested against <see cref="Math.Exp"/>).</summary>
    public static float Exp(float x) => Exp(new Vec1(x)).Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Exp<V>(V x)
        where V : unmanaged, IVector<V>
    {
        x = V.Max(x, V.Create(Floor));
        var n = V.Round(x * V.Create(Log2E));
        var r = V.MultiplyAdd(n, V.Create(-Ln2High), x);
        r = V.MultiplyAdd(n, V.Create(-Ln2Low), r);
        var p = V.MultiplyAdd(V.Create(P0), r, V.Create(P1));
        p = V.MultiplyAdd(p, r, V.Create(P2));
        p = V.MultiplyAdd(p, r, V.Create(P3));
        p = V.MultiplyAdd(p, r, V.Create(P4));
        p = V.MultiplyAdd(p, r, V.Create(P5));
        p = V.MultiplyAdd(p, r * r, r + V.Create(1f));
        // 2ⁿ built in the exponent field; n ≥ −44 here, so it is always a normal float.
        return p * V.Pow2(n);
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
