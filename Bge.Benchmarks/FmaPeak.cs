using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Bge.Core.Kernels;

namespace Bge.Benchmarks;

/// <summary>The CPU's FP32 FMA peak as a loop of twelve independent FMA chains at the kernels' width reaches it.</summary>
internal static class FmaPeak
{
    /// <summary>
    /// Every thread runs the loop at <paramref name="simd"/> for the whole duration at once, timing its own short
    /// samples; the peak is the sum of the threads' median rates (a shared start per sample would also time thread
    /// wake-ups).
    /// </summary>
    public static double GigaFlops(int threads, TimeSpan duration, SimdWidth simd)
    {
        Func<long, float> chains = simd switch
        {
            SimdWidth.Vector512 => Chains512,
            SimdWidth.Vector256 => Chains256,
            SimdWidth.Vector128 => Chains128,
            _ => ChainsScalar,
        };
        var floatsPerFma = simd == SimdWidth.Scalar ? 1 : (int)simd / 32;
        chains(1000);
        const long iterations = 2_000_000;
        var rates = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var samples = new List<double>();
            for (var total = Stopwatch.StartNew(); total.Elapsed < duration;)
            {
                var sw = Stopwatch.StartNew();
                chains(iterations);
                samples.Add(iterations * 12.0 * floatsPerFma * 2 / sw.Elapsed.TotalSeconds / 1e9);
            }

            samples.Sort();
            rates[t] = samples[samples.Count / 2];
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return rates.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(long n)
    {
        var x = Vector512.Create(0.9999999f);
        var y = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y);
            a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y);
            a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y);
            a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y);
            a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y);
            a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y);
            a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long n)
    {
        var x = Vector256.Create(0.9999999f);
        var y = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, x, y);
            a1 = Vector256.FusedMultiplyAdd(a1, x, y);
            a2 = Vector256.FusedMultiplyAdd(a2, x, y);
            a3 = Vector256.FusedMultiplyAdd(a3, x, y);
            a4 = Vector256.FusedMultiplyAdd(a4, x, y);
            a5 = Vector256.FusedMultiplyAdd(a5, x, y);
            a6 = Vector256.FusedMultiplyAdd(a6, x, y);
            a7 = Vector256.FusedMultiplyAdd(a7, x, y);
            a8 = Vector256.FusedMultiplyAdd(a8, x, y);
            a9 = Vector256.FusedMultiplyAdd(a9, x, y);
            a10 = Vector256.FusedMultiplyAdd(a10, x, y);
            a11 = Vector256.FusedMultiplyAdd(a11, x, y);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains128(long n)
    {
        var x = Vector128.Create(0.9999999f);
        var y = Vector128.Create(1e-7f);
        Vector128<float> a0 = Vector128<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, x, y);
            a1 = Vector128.FusedMultiplyAdd(a1, x, y);
            a2 = Vector128.FusedMultiplyAdd(a2, x, y);
            a3 = Vector128.FusedMultiplyAdd(a3, x, y);
            a4 = Vector128.FusedMultiplyAdd(a4, x, y);
            a5 = Vector128.FusedMultiplyAdd(a5, x, y);
            a6 = Vector128.FusedMultiplyAdd(a6, x, y);
            a7 = Vector128.FusedMultiplyAdd(a7, x, y);
            a8 = Vector128.FusedMultiplyAdd(a8, x, y);
            a9 = Vector128.FusedMultiplyAdd(a9, x, y);
            a10 = Vector128.FusedMultiplyAdd(a10, x, y);
            a11 = Vector128.FusedMultiplyAdd(a11, x, y);
        }

        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float ChainsScalar(long n)
    {
        const float x = 0.9999999f, y = 1e-7f;
        float a0 = 1, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = MathF.FusedMultiplyAdd(a0, x, y);
            a1 = MathF.FusedMultiplyAdd(a1, x, y);
            a2 = MathF.FusedMultiplyAdd(a2, x, y);
            a3 = MathF.FusedMultiplyAdd(a3, x, y);
            a4 = MathF.FusedMultiplyAdd(a4, x, y);
            a5 = MathF.FusedMultiplyAdd(a5, x, y);
            a6 = MathF.FusedMultiplyAdd(a6, x, y);
            a7 = MathF.FusedMultiplyAdd(a7, x, y);
            a8 = MathF.FusedMultiplyAdd(a8, x, y);
            a9 = MathF.FusedMultiplyAdd(a9, x, y);
            a10 = MathF.FusedMultiplyAdd(a10, x, y);
            a11 = MathF.FusedMultiplyAdd(a11, x, y);
        }

        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }
}
