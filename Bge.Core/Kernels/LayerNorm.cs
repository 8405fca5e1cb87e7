using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// LayerNorm over the last dimension: (x − mean) / √(var + eps) · weight + bias, biased variance; optionally after
/// adding a residual row, as BERT's sub-layers end. The mean and variance are sums across the row, so their last bit
/// depends on the width that sums them.
/// </summary>
public static class LayerNorm
{
    /// <summary>Normalizes one row in place at the widest width this CPU accelerates.</summary>
    public static void Row(Span<float> row, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps) =>
        Row(row, default, weight, bias, eps, Simd.Hardware);

    /// <summary>Adds <paramref name="residual"/> (when not empty) to <paramref name="row"/>, then normalizes it in place.</summary>
    /// <exception cref="ArgumentException">The row, residual, weight and bias lengths disagree.</exception>
    public static unsafe void Row(Span<float> row, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, SimdWidth simd)
    {
        var n = row.Length;
        if (n == 0 || weight.Length != n || bias.Length != n || (!residual.IsEmpty && residual.Length != n))
        {
            throw new ArgumentException($"LayerNorm of a row of {n} with {weight.Length} weights, {bias.Length} biases and {residual.Length} residuals", nameof(row));
        }

        fixed (float* x = row, r = residual, w = weight, b = bias)
        {
            Row(x, r, w, b, n, eps, simd);
        }
    }

    internal static unsafe void Row(float* x, float* residual, float* weight, float* bias, int n, float eps, SimdWidth simd)
    {
        switch (simd)
        {
            case SimdWidth.Vector512:
                Row<Vec512>(x, residual, weight, bias, n, eps);
                break;
            case SimdWidth.Vector256:
                Row<Vec256>(x, residual, weight, bias, n, eps);
                break;
            case SimdWidth.Vector128:
                Row<Vec128>(x, residual, weight, bias, n, eps);
                break;
            default:
                Row<Vec1>(x, residual, weight, bias, n, eps);
                break;
        }
    }

    // Three passes: residual and sum; centring and sum of squares; scale and shift. Whole vectors first, then the
    // tail one float at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Row<V>(float* x, float* residual, float* weight, float* bias, int n, float eps)
        where V : unmanaged, IVector<V>
    {
        var whole = n / V.Count * V.Count;
        var sums = V.Zero;
        for (var i = 0; i < whole; i += V.Count)
        {
            var v = V.Load(x + i);
            if (residual != null)
            {
                v += V.Load(residual + i);
                V.Store(v, x + i);
            }

            sums += v;
        }

        var sum = V.Sum(sums);
        for (var i = whole; i < n; i++)
        {
            if (residual != null)
            {
                x[i] += residual[i];
            }

            sum += x[i];
        }

        var mean = sum / n;
        var centre = V.Create(mean);
        var squares = V.Zero;
        for (var i = 0; i < whole; i += V.Count)
        {
            var v = V.Load(x + i) - centre;
            V.Store(v, x + i);
            squares = V.MultiplyAdd(v, v, squares);
        }

        var squared = V.Sum(squares);
        for (var i = whole; i < n; i++)
        {
            x[i] -= mean;
            squared = Scalar.MultiplyAdd(x[i], x[i], squared);
        }

        var scale = 1f / MathF.Sqrt((squared / n) + eps);
        var factor = V.Create(scale);
        for (var i = 0; i < whole; i += V.Count)
        {
            V.Store(V.MultiplyAdd(V.Load(x + i) * factor, V.Load(weight + i), V.Load(bias + i)), x + i);
        }

        for (var i = whole; i < n; i++)
        {
            x[i] = Scalar.MultiplyAdd(x[i] * scale, weight[i], bias[i]);
        }
    }

    /// <summary>The scalar twin, accumulating in double.</summary>
    public static void Reference(Span<float> row, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps)
    {
        double mean = 0, variance = 0;
        foreach (var v in row)
        {
            mean += v;
        }

        mean /= row.Length;
        foreach (var v in row)
        {
            variance += (v - mean) * (v - mean);
        }

        variance /= row.Length;
        var scale = 1 / Math.Sqrt(variance + eps);
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (float)(((row[i] - mean) * scale * weight[i]) + bias[i]);
        }
    }
}
