using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Softmax of a row, shifted by its maximum so large scores cannot overflow. Shifted scores are floored at −80:
/// e⁻⁸⁰ ≈ 1.8e-35 is still a normal float, so no probability is ever subnormal (subnormal operands make every
/// later multiply-add that touches them many times slower), and the change is far below float resolution of
/// the row's sum, which is at least 1.
/// </summary>
public static class Softmax
{
    private const float Floor = -80f;

    /// <summary>Replaces <paramref name="row"/> by its softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> row)
    {
        var max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Max(row, Floor, row);
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
