using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Elementwise sums and scalings of rows at a model's width, for the stages around the encoder (embedding sums,
/// pooling, normalization). Elementwise results are the same at every width; <see cref="SumOfSquares"/> sums
/// across the row, so its last bit depends on the width.
/// </summary>
internal static unsafe class RowMath
{
    /// <summary>destination = a + b, n floats (destination may be a or b).</summary>
    public static void Add(float* a, float* b, float* destination, int n, SimdWidth simd)
    {
        var i = simd switch
        {
            SimdWidth.Vector512 => Add<Vec512>(a, b, destination, n),
            SimdWidth.Vector256 => Add<Vec256>(a, b, destination, n),
            SimdWidth.Vector128 => Add<Vec128>(a, b, destination, n),
            _ => 0,
        };
        Add<Vec1>(a + i, b + i, destination + i, n - i);
    }

    /// <summary>x = x / divisor, n floats.</summary>
    public static void Divide(float* x, float divisor, int n, SimdWidth simd)
    {
        var i = simd switch
        {
            SimdWidth.Vector512 => Divide<Vec512>(x, divisor, n),
            SimdWidth.Vector256 => Divide<Vec256>(x, divisor, n),
            SimdWidth.Vector128 => Divide<Vec128>(x, divisor, n),
            _ => 0,
        };
        Divide<Vec1>(x + i, divisor, n - i);
    }

    /// <summary>Σ x², n floats.</summary>
    public static float SumOfSquares(float* x, int n, SimdWidth simd)
    {
        var (i, sum) = simd switch
        {
            SimdWidth.Vector512 => SumOfSquares<Vec512>(x, n),
            SimdWidth.Vector256 => SumOfSquares<Vec256>(x, n),
            SimdWidth.Vector128 => SumOfSquares<Vec128>(x, n),
            _ => (0, 0f),
        };
        return sum + SumOfSquares<Vec1>(x + i, n - i).Sum;
    }

    // Each returns how many floats it did (whole vectors only).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Add<V>(float* a, float* b, float* destination, int n)
        where V : unmanaged, IVector<V>
    {
        var i = 0;
        for (; i <= n - V.Count; i += V.Count)
        {
            V.Store(V.Load(a + i) + V.Load(b + i), destination + i);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Divide<V>(float* x, float divisor, int n)
        where V : unmanaged, IVector<V>
    {
        var d = V.Create(divisor);
        var i = 0;
        for (; i <= n - V.Count; i += V.Count)
        {
            V.Store(V.Load(x + i) / d, x + i);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Done, float Sum) SumOfSquares<V>(float* x, int n)
        where V : unmanaged, IVector<V>
    {
        var sums = V.Zero;
        var i = 0;
        for (; i <= n - V.Count; i += V.Count)
        {
            var v = V.Load(x + i);
            sums = V.MultiplyAdd(v, v, sums);
        }

        return (i, V.Sum(sums));
    }
}
