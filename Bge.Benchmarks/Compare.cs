using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// The quick side-by-side run: our engine and ONNX Runtime on the same weights, token ids and thread count,
/// one table of ratios (ours ÷ ONNX Runtime; above 1 is better for us, except where a row says lower is better).
/// </summary>
internal static class Compare
{
    private static readonly (int Batch, int Length)[] Shapes = [(1, 16), (8, 128), (32, 128), (1, 512)];
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static int Run(int threads, double secondsPerCase, bool bertBase)
    {
        var total = Stopwatch.StartNew();
        Console.WriteLine($"Bge vs ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version}, {threads} threads, {Environment.ProcessorCount} logical CPUs, {CpuName()}");
        var simd = Bge.Core.Kernels.Simd.Default;
        Console.WriteLine($"Kernels at {Bge.Core.Kernels.Simd.Describe(simd)} ({Bge.Core.Kernels.Simd.EnvironmentVariable} picks another)");
        var peak = FmaPeak.GigaFlops(threads, TimeSpan.FromSeconds(2), simd);
        Console.WriteLine($"FP32 FMA peak measured now at that width (12 independent FMA chains × {threads} threads running together for 2 s, sum of their median rates): {peak:F1} GFLOP/s");
        Console.WriteLine();
        Console.WriteLine($"| {"case",-34} | {"ours",14} | {"ONNX Runtime",14} | {"ratio",6} | {"our MFU",7} | {"ORT MFU",7} |");
        Console.WriteLine($"|{new string('-', 36)}|{new string('-', 16)}|{new string('-', 16)}|{new string('-', 8)}|{new string('-', 9)}|{new string('-', 9)}|");
        foreach (var model in BenchModels.Recipes.Models.Select(m => m.Name))
        {
            var embedder = Embedder.Load(BenchModels.Directory(model), new EmbedderOptions { DegreeOfParallelism = threads });
            using var ort = new OrtEncoder(BenchModels.Onnx(model), threads);
            EncoderRows(Short(model), embedder, ort, threads, secondsPerCase, peak);
            if (model != BenchModels.Recipes.Default)
            {
                continue;
            }

            var config = embedder.Model.Config;
            var sentences = BenchModels.StsSentences();
            var pooling = new EncodeOptions { Pooling = PoolingMode.Cls };
            var warmUp = sentences.Take(64).ToList();
            embedder.Encode(warmUp, pooling);
            ort.EmbedLikeFlagEmbedding(warmUp, embedder.Tokenizer, config.HiddenSize);
            var (oursE2e, theirsE2e) = SideBySide(() => embedder.Encode(sentences, pooling), () => ort.EmbedLikeFlagEmbedding(sentences, embedder.Tokenizer, config.HiddenSize), 0, rounds: 1);
            Row($"{Short(model)} STS-B {sentences.Count} sentences/s", sentences.Count / oursE2e, sentences.Count / theirsE2e, null, null);

            const string text = "I love machine learning and nlp";
            var (oursLatency, theirsLatency) = Latencies(() => embedder.Encode(text), () => ort.EmbedLikeFlagEmbedding([text], embedder.Tokenizer, config.HiddenSize), 300);
            Row($"{Short(model)} 1 short text, median ms (↓)", oursLatency.Median * 1e3, theirsLatency.Median * 1e3, null, null, lowerIsBetter: true);
            Row($"{Short(model)} 1 short text, p99 ms (↓)", oursLatency.P99 * 1e3, theirsLatency.P99 * 1e3, null, null, lowerIsBetter: true);

            var onnxFile = Path.Combine(Path.GetTempPath(), $"bge-bench-{model}.onnx");
            File.WriteAllBytes(onnxFile, BenchModels.Onnx(model));
            LoadRows(Short(model), BenchModels.Directory(model), onnxFile, threads);
        }

        if (bertBase)
        {
            BertBase.EnsureWritten();
            var embedder = Embedder.Load(BertBase.Directory, new EmbedderOptions { DegreeOfParallelism = threads });
            using (var ort = new OrtEncoder(File.ReadAllBytes(BertBase.OnnxFile), threads))
            {
                EncoderRows("BERT-base", embedder, ort, threads, secondsPerCase, peak);
            }

            LoadRows("BERT-base", BertBase.Directory, BertBase.OnnxFile, threads);
        }

        foreach (var (m, k, n) in new[] { (1024, 384, 1536), (1024, 1536, 384), (4096, 384, 1536) })
        {
            var random = new Random(m + k + n);
            var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var weight = new Bge.Core.Kernels.PackedWeight(Enumerable.Range(0, n * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), new float[n], n, k, simd);
            var c = new float[m * n];
            var (seconds, _) = SideBySide(() => Bge.Core.Kernels.Gemm.Linear(a, m, weight, c, threads), () => { }, secondsPerCase);
            var gflops = 2.0 * m * k * n / seconds / 1e9;
            Console.WriteLine($"| {$"GEMM alone {m}×{k}×{n} GFLOP/s",-34} | {gflops.ToString("N1", C),14} | {"",14} | {"",6} | {(gflops / peak).ToString("P0", C),7} | {"",7} |");
        }

        Console.WriteLine();
        Console.WriteLine($"ratio = ours ÷ ONNX Runtime for throughput, ONNX Runtime ÷ ours for rows marked (↓); MFU = achieved GFLOP/s ÷ the peak above. Took {total.Elapsed.TotalSeconds:F0} s.");
        return 0;
    }

    /// <summary>Encoder throughput at each benchmark shape on random ids, both engines on the same ids.</summary>
    private static void EncoderRows(string label, Embedder embedder, OrtEncoder ort, int threads, double secondsPerCase, double peak)
    {
        var config = embedder.Model.Config;
        // Two seconds of both engines first: the VM's clock and both engines' first-use costs settle before anything is timed.
        var settle = TokenBatch.FromIds(RandomIds(8, 128, config.VocabSize));
        var settlePadded = settle.ToPadded(Padding.Longest, 0);
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < 2;)
        {
            embedder.Model.Forward(settle, threads);
            ort.Run(settlePadded);
        }

        foreach (var (batch, length) in Shapes)
        {
            var tokens = TokenBatch.FromIds(RandomIds(batch, length, config.VocabSize));
            var padded = tokens.ToPadded(Padding.Longest, 0);
            var (ours, theirs) = SideBySide(() => embedder.Model.Forward(tokens, threads), () => ort.Run(padded), secondsPerCase);
            var flops = Flops(config, batch, length);
            Row($"{label} encoder {batch}×{length} tok/s", batch * length / ours, batch * length / theirs, flops / ours / 1e9 / peak, flops / theirs / 1e9 / peak);
        }
    }

    /// <summary>Load time and peak working set, each engine in a fresh process.</summary>
    private static void LoadRows(string label, string directory, string onnxFile, int threads)
    {
        var oursLoad = LoadProbe.Measure("ours", directory, threads);
        var theirsLoad = LoadProbe.Measure("ort", onnxFile, threads);
        Row($"{label} load ms (↓)", oursLoad.Milliseconds, theirsLoad.Milliseconds, null, null, lowerIsBetter: true);
        Row($"{label} peak working set MB (↓)", oursLoad.PeakMegabytes, theirsLoad.PeakMegabytes, null, null, lowerIsBetter: true);
        var safetensors = new FileInfo(Path.Combine(directory, "model.safetensors")).Length / 1e6;
        Console.WriteLine($"|   (model.safetensors is {safetensors:F1} MB; ours holds {oursLoad.PeakMegabytes / safetensors:F2}× it, ONNX Runtime {theirsLoad.PeakMegabytes / safetensors:F2}×)");
    }

    internal static double Flops(EncoderConfig c, int batch, int length) =>
        c.NumHiddenLayers * ((2.0 * batch * length * c.HiddenSize * ((4.0 * c.HiddenSize) + (2.0 * c.IntermediateSize)))
                             + (4.0 * batch * length * length * c.HiddenSize));

    internal static List<int[]> RandomIds(int batch, int length, int vocab)
    {
        var random = new Random(batch * 1000 + length);
        return Enumerable.Range(0, batch).Select(_ =>
        {
            var ids = Enumerable.Range(0, length).Select(_ => random.Next(1000, Math.Min(vocab, 30000))).ToArray();
            ids[0] = 101;
            ids[^1] = 102;
            return ids;
        }).ToList();
    }

    private static void Row(string name, double ours, double theirs, double? ourMfu, double? theirMfu, bool lowerIsBetter = false)
    {
        var ratio = lowerIsBetter ? theirs / ours : ours / theirs;
        string Percent(double? v) => v is { } x ? x.ToString("P0", C) : "";
        Console.WriteLine($"| {name,-34} | {ours.ToString("N1", C),14} | {theirs.ToString("N1", C),14} | {ratio.ToString("F2", C) + "×",6} | {Percent(ourMfu),7} | {Percent(theirMfu),7} |");
    }

    /// <summary>
    /// Median seconds per call of each, measured in alternating rounds (ours, theirs, ours, …) so that the VM's
    /// drifting speed hits both alike.
    /// </summary>
    private static (double Ours, double Theirs) SideBySide(Action ours, Action theirs, double seconds, int rounds = 3)
    {
        var both = SideBySide([ours, theirs], seconds, rounds);
        return (both[0], both[1]);
    }

    /// <summary>Median seconds per call of each action, in alternating rounds (first, second, …, first, …).</summary>
    internal static double[] SideBySide(Action[] actions, double seconds, int rounds = 3)
    {
        if (rounds > 1)
        {
            foreach (var action in actions)
            {
                action();
            }
        }

        var times = actions.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var e = 0; e < actions.Length; e++)
            {
                var total = Stopwatch.StartNew();
                do
                {
                    var one = Stopwatch.StartNew();
                    actions[e]();
                    times[e].Add(one.Elapsed.TotalSeconds);
                }
                while (total.Elapsed.TotalSeconds < seconds / rounds);
            }
        }

        return times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
    }

    /// <summary>
    /// Median and p99 of single calls, in alternating blocks of 50 (call-by-call alternation would time each engine
    /// while the other's worker threads are still spinning down).
    /// </summary>
    private static ((double Median, double P99) Ours, (double Median, double P99) Theirs) Latencies(Action ours, Action theirs, int count)
    {
        var both = Latencies(count, ours, theirs);
        return (both[0], both[1]);
    }

    /// <summary>Median and p99 of single calls of each action, in alternating blocks of 50 after 10 unmeasured ones.</summary>
    internal static (double Median, double P99)[] Latencies(int count, params Action[] actions)
    {
        var times = actions.Select(_ => new List<double>()).ToArray();
        for (var block = 0; block < count / 50; block++)
        {
            for (var e = 0; e < actions.Length; e++)
            {
                for (var i = 0; i < 60; i++)
                {
                    var one = Stopwatch.StartNew();
                    actions[e]();
                    if (i >= 10)
                    {
                        times[e].Add(one.Elapsed.TotalSeconds);
                    }
                }
            }
        }

        return times.Select(t =>
        {
            t.Sort();
            return (t[t.Count / 2], t[(int)Math.Ceiling(t.Count * 0.99) - 1]);
        }).ToArray();
    }

    internal static string Short(string model) => model.StartsWith("snowflake", StringComparison.Ordinal) ? "arctic-xs" : "MiniLM";

    internal static string CpuName() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
}
