using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>LayerNorm over the last dimension: (x − mean) / √(var + eps) · weight + bias, biased variance.</summary>
public static class LayerNorm
{
    /// <summary>Normalizes each of <paramref name="rows"/> rows of width <c>weight.Length</c> in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> x, int rows, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps)
    {
        var width = weight.Length;
        for (var r = 0; r < rows; r++)
        {
            Row(x.Slice(r * width, width), weight, bias, eps);
        }
    }

    /// <summary>Normalizes one row in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(Span<float> row, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps)
    {
        var mean = TensorPrimitives.Sum(row) / row.Length;
        TensorPrimitives.Subtract(row, mean, row);
        var variance = TensorPrimitives.SumOfSquares(row) / row.Length;
        var scale = 1f / MathF.Sqrt(variance + eps);
        TensorPrimitives.Multiply(row, scale, row);
        TensorPrimitives.FusedMultiplyAdd(row, weight, bias, row);
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
