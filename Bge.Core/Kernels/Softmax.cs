using System.Numerics.Tensors;

namespace Bge.Core.Kernels;

/// <summary>Softmax of a row, shifted by its maximum so large scores cannot overflow.</summary>
public static class Softmax
{
    /// <summary>Replaces <paramref name="row"/> by its softmax.</summary>
    public static void InPlace(Span<float> row)
    {
        var max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Exp(row, row);
        TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
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
