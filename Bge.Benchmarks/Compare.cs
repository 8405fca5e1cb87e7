using System.Diagnostics;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// <c>compare</c>: our engine beside ONNX Runtime on the same weights, token ids and thread count, every measurement in
/// a fresh process of its own while the other engines are idle (two engines' thread pools in one process disturb
/// each other on a 2-core host), in the rounds <see cref="CompareTable"/> describes. At fp32: ours and ONNX Runtime,
/// with MFU against the FMA peak measured first. <c>--precision int8</c>: ours at int8 (from a directory written by
/// <see cref="ModelQuantizer"/>, as a user would ship it), ours at fp32, ONNX Runtime's own dynamic quantization of the
/// same tensors, and ONNX Runtime at fp32; <c>bf16</c> likewise with ONNX Runtime at fp32 only (its CPU provider has
/// no bf16 MatMul). STS-B Spearman is computed in the children, on the very embeddings they timed.
/// </summary>
internal static class Compare
{
    private static readonly (int Batch, int Length)[] Shapes = [(1, 16), (8, 128), (32, 128), (1, 512)];

    /// <summary>The kinds of rows, for <c>--cases</c>.</summary>
    public static readonly string[] Cases = ["encoder", "stsb", "rerank", "text", "gemm"];

    public static int Run(int threads, double seconds, int rounds, Precision precision, bool bertBase, IReadOnlyCollection<string>? cases = null)
    {
        cases ??= Cases;
        if (cases.FirstOrDefault(c => !Cases.Contains(c)) is { } unknown)
        {
            throw new ArgumentException($"--cases: '{unknown}' is not one of {string.Join(", ", Cases)}");
        }

        // Fewer rounds give no spread worth printing, and one slow round would be the median of two.
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 3);
        var total = Stopwatch.StartNew();
        var fp32 = precision == Precision.Fp32;
        CompareEngine[] engines = precision switch
        {
            Precision.Fp32 => [new(false, Precision.Fp32), new(true, Precision.Fp32)],
            Precision.Int8 => [new(false, Precision.Int8), new(false, Precision.Fp32), new(true, Precision.Int8), new(true, Precision.Fp32)],
            _ => [new(false, precision), new(false, Precision.Fp32), new(true, Precision.Fp32)],
        };
        (int, int)[] ratios = fp32 ? [(0, 1)] : [(0, 1), (0, 2), (1, engines.Length - 1)];
        string[] models = [.. BenchModels.Recipes.Models.Select(m => m.Name), .. bertBase && fp32 ? [CompareEngine.BertBaseModel] : Array.Empty<string>()];
        foreach (var model in models)
        {
            foreach (var engine in engines)
            {
                engine.Prepare(model);
            }
        }

        Console.WriteLine($"compare: {string.Join(", ", engines.Select(e => e.Label))}; each case in {rounds} rounds, each engine in a fresh process per round while the others are idle");
        foreach (var line in Machine.Describe(threads))
        {
            Console.WriteLine(line);
        }

        if (precision == Precision.Int8)
        {
            Console.WriteLine("ORT int8: ONNX Runtime's dynamic quantization of the same tensors (DynamicQuantizeMatMul, per-tensor symmetric int8 weights, as quantize_dynamic writes them)");
        }

        double? peak = null;
        if (fp32)
        {
            peak = FmaPeak.GigaFlops(threads, TimeSpan.FromSeconds(2), Simd.Default);
            Console.WriteLine($"FP32 FMA peak measured now at the kernels' width, no child running (12 independent FMA chains × {threads} threads running together for 2 s, sum of their median rates): {peak:F1} GFLOP/s");
        }

        Console.WriteLine();
        var table = new CompareTable(engines, ratios, threads, seconds, rounds, peak);
        table.PrintHeader();
        foreach (var model in models)
        {
            ModelRows(table, engines, model, sts: !fp32 || model == BenchModels.Recipes.Default, cases);
        }

        if (cases.Contains("gemm"))
        {
            GemmRows(table, engines, threads, seconds);
        }

        Console.WriteLine();
        Console.WriteLine(table.Legend);
        Console.WriteLine($"Took {total.Elapsed.TotalSeconds:F0} s.");
        return 0;
    }

    private static void ModelRows(CompareTable table, CompareEngine[] engines, string model, bool sts, IReadOnlyCollection<string> cases)
    {
        var label = Short(model);
        var directory = ModelDirectory.Open(CompareEngine.SourceDirectory(model));
        foreach (var (batch, length) in cases.Contains("encoder") ? Shapes : [])
        {
            var results = table.Measure(model, $"{batch}x{length}");
            table.Row($"{label} encoder {batch}×{length} tok/s", results, "rate", flopsPerUnit: Flops(directory.Config, batch, length) / (batch * length));
        }

        if (sts && cases.Contains("stsb"))
        {
            var results = table.Measure(model, "stsb");
            table.Row($"{label} STS-B {BenchModels.StsSentences().Count} sentences/s", results, "rate");
            table.Row($"{label} STS-B Spearman ×100 ({(directory.Pooling == PoolingMode.Mean ? "mean" : "CLS")})", results, "spearman", "F2", withRatios: false);
        }

        if (cases.Contains("rerank") && model != CompareEngine.BertBaseModel)
        {
            var rerank = table.Measure(model, "rerank");
            table.Row($"{label} rerank 1 query × {RerankCase.Passages} passages (~200 tok) tok/s", rerank, "rate");
        }

        if (!cases.Contains("text"))
        {
            return;
        }

        var text = table.Measure(model, "text");
        table.Row($"{label} 1 text p50 ms (↓)", text, "p50_ms", "F2", lowerIsBetter: true);
        table.Row($"{label} 1 text p99 ms (↓)", text, "p99_ms", "F2", lowerIsBetter: true);
        table.Joined($"{label} 1 text GCs per call gen0/1/2", text, ["gen0", "gen1", "gen2"], "0.###");
        table.Row($"{label} 1 text bytes per call", text, "bytes", "N0", withRatios: false);
        table.Row($"{label} load ms (↓)", text, "load_ms", lowerIsBetter: true);
        table.Row($"{label} peak working set MB (↓)", text, "peak_mb", lowerIsBetter: true);
        CompareTable.Note($"{CompareProbe.TextCalls} calls of \"{CompareProbe.ShortText}\"; ORT's bytes are its managed side's; peak after load and one call; weights loaded: "
                          + string.Join(", ", engines.Select(e => $"{e.Label} {e.Megabytes(model):F1} MB")));
    }

    /// <summary>Our GEMM alone at each precision ours runs, in alternating rounds in this process (no child is running).</summary>
    private static void GemmRows(CompareTable table, CompareEngine[] engines, int threads, double seconds)
    {
        var simd = Simd.Default;
        foreach (var (m, k, n) in new[] { (16, 384, 1536), (1024, 384, 1536), (1024, 1536, 384), (4096, 384, 1536) })
        {
            var random = new Random(m + k + n);
            var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var w = Enumerable.Range(0, n * k).Select(_ => ((float)random.NextDouble() - 0.5f) * 0.1f).ToArray();
            var c = new float[m * n];
            var calls = engines.Select(e => e.Ort ? null : new PackedWeight(w, new float[n], n, k, simd, e.Precision))
                .Select(weight => weight is null ? null : (Action)(() => Gemm.Linear(a, m, weight, c, threads))).ToArray();
            var times = SideBySide([.. calls.OfType<Action>()], seconds);
            var next = 0;
            table.Values($"GEMM alone {m}×{k}×{n} G(FL)OP/s", [.. calls.Select(call => call is null ? double.NaN : 2.0 * m * k * n / times[next++] / 1e9)], "N1", flopsPerUnit: 1e9);
        }
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

    internal static string Short(string model) =>
        model == CompareEngine.BertBaseModel ? "BERT-base" : model.StartsWith("snowflake", StringComparison.Ordinal) ? "arctic-xs" : "MiniLM";
}
