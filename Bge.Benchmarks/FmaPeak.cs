using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Benchmarks;

/// <summary>The CPU's FP32 FMA peak as a loop of twelve independent Vector256 FMA chains reaches it.</summary>
internal static class FmaPeak
{
    /// <summary>
    /// Every thread runs the loop for the whole duration at once, timing its own short samples; the peak is the sum
    /// of the threads' median rates (a shared start per sample would also time thread wake-ups).
    /// </summary>
    public static double GigaFlops(int threads, TimeSpan duration)
    {
        Chains(1000);
        const long iterations = 2_000_000;
        var rates = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var samples = new List<double>();
            for (var total = Stopwatch.StartNew(); total.Elapsed < duration;)
            {
                var sw = Stopwatch.StartNew();
                Chains(iterations);
                samples.Add(iterations * 12 * Vector256<float>.Count * 2 / sw.Elapsed.TotalSeconds / 1e9);
            }

            samples.Sort();
            rates[t] = samples[samples.Count / 2];
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return rates.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains(long n)
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
}
