using System.Diagnostics;
using System.Runtime.CompilerServices;
using Bge.Core.Kernels;

namespace Bge.Benchmarks;

/// <summary>
/// The CPU's FP32 FMA peak as a loop of twelve independent FMA chains reaches it, written with the kernels' own
/// vector types at the kernels' width.
/// </summary>
internal static class FmaPeak
{
    /// <summary>
    /// Every thread runs the loop at <paramref name="simd"/> for the whole duration at once, timing its own short
    /// samples; the peak is the sum of the threads' median rates (a shared start per sample would also time thread
    /// wake-ups).
    /// </summary>
    public static double GigaFlops(int threads, TimeSpan duration, SimdWidth simd) => simd switch
    {
        SimdWidth.Vector512 => GigaFlops<Vec512>(threads, duration),
        SimdWidth.Vector256 => GigaFlops<Vec256>(threads, duration),
        SimdWidth.Vector128 => GigaFlops<Vec128>(threads, duration),
        _ => GigaFlops<Vec1>(threads, duration),
    };

    private static double GigaFlops<V>(int threads, TimeSpan duration)
        where V : unmanaged, IVector<V>
    {
        Chains<V>(1000);
        const long iterations = 2_000_000;
        var rates = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var samples = new List<double>();
            for (var total = Stopwatch.StartNew(); total.Elapsed < duration;)
            {
                var sw = Stopwatch.StartNew();
                Chains<V>(iterations);
                samples.Add(iterations * 12.0 * V.Count * 2 / sw.Elapsed.TotalSeconds / 1e9);
            }

            samples.Sort();
            rates[t] = samples[samples.Count / 2];
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return rates.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<V>(long n)
        where V : unmanaged, IVector<V>
    {
        var x = V.Create(0.9999999f);
        var y = V.Create(1e-7f);
        V a0 = V.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++)
        {
            a0 = V.MultiplyAdd(a0, x, y);
            a1 = V.MultiplyAdd(a1, x, y);
            a2 = V.MultiplyAdd(a2, x, y);
            a3 = V.MultiplyAdd(a3, x, y);
            a4 = V.MultiplyAdd(a4, x, y);
            a5 = V.MultiplyAdd(a5, x, y);
            a6 = V.MultiplyAdd(a6, x, y);
            a7 = V.MultiplyAdd(a7, x, y);
            a8 = V.MultiplyAdd(a8, x, y);
            a9 = V.MultiplyAdd(a9, x, y);
            a10 = V.MultiplyAdd(a10, x, y);
            a11 = V.MultiplyAdd(a11, x, y);
        }

        return V.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
