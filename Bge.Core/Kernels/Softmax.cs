using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Softmax of a row, shifted by its maximum so large scores cannot overflow. Shifted scores are floored at −30:
/// e⁻³⁰ ≈ 9.4e-14, so neither a probability nor its product with a value vector is ever subnormal (subnormal
/// operands make the multiply-adds that touch them many times slower), while the change is five orders of
/// magnitude below the float resolution of the row's sum, which is at least 1.
/// </summary>
public static class Softmax
{
    private const float Floor = -30f;

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
