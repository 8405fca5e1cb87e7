using System.Diagnostics;

namespace Bge.Measurement;

/// <summary>Latency and garbage collection of one kind of call, made many times in a row.</summary>
/// <param name="P50Milliseconds">The median call.</param>
/// <param name="P99Milliseconds">The 99th percentile call.</param>
/// <param name="Gen0PerCall">Generation-0 collections per call (a gen-1 or gen-2 collection counts here too).</param>
/// <param name="Gen1PerCall">Generation-1 collections per call (a gen-2 collection counts here too).</param>
/// <param name="Gen2PerCall">Generation-2 collections per call.</param>
/// <param name="BytesPerCall">Managed bytes allocated per call, on every thread.</param>
internal readonly record struct SingleCallStatistics(double P50Milliseconds, double P99Milliseconds, double Gen0PerCall, double Gen1PerCall, double Gen2PerCall, double BytesPerCall);

/// <summary>
/// Times single calls one by one (<c>bge bench</c> and the benchmarks' child processes share it, so both report
/// the same statistic the same way).
/// </summary>
internal static class SingleCalls
{
    /// <summary><paramref name="warmUp"/> untimed calls, then <paramref name="count"/> timed ones.</summary>
    public static SingleCallStatistics Measure(Action call, int warmUp, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        for (var i = 0; i < warmUp; i++)
        {
            call();
        }

        // Allocated before the counters are read, and the loop allocates nothing of its own, so the bytes and
        // collections counted are the calls' alone.
        var seconds = new double[count];
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var (after0, after1, after2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        Array.Sort(seconds);
        return new SingleCallStatistics(
            Median(seconds) * 1e3,
            seconds[(int)Math.Ceiling(count * 0.99) - 1] * 1e3,
            (double)(after0 - gen0) / count,
            (double)(after1 - gen1) / count,
            (double)(after2 - gen2) / count,
            (double)bytes / count);
    }

    /// <summary>The middle value (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
