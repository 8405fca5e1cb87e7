using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Reference;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.Onnx;

namespace Bge.Benchmarks;

/// <summary>
/// <c>compare --precision int8|bf16</c>: three engines side by side in one process, in alternating rounds: ours at
/// that precision (loaded from a directory written by <see cref="ModelQuantizer"/>, as a user would ship it), ours at
/// fp32, and ONNX Runtime. For int8, ONNX Runtime runs its own dynamic quantization of the same tensors (the graph
/// quantize_dynamic writes: DynamicQuantizeMatMul over per-tensor symmetric int8 weights); for bf16 it runs fp32, its
/// CPU provider having no bf16 MatMul. Quality is measured on the very embeddings that were timed (STS-B Spearman).
/// </summary>
internal static class ComparePrecision
{
    private static readonly (int Batch, int Length)[] Shapes = [(1, 16), (8, 128), (32, 128), (1, 512)];
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static int Run(int threads, double secondsPerCase, Precision precision)
    {
        var total = Stopwatch.StartNew();
        var name = Precisions.Name(precision);
        var ortName = precision == Precision.Int8 ? "ORT int8" : "ORT fp32";
        Console.WriteLine($"Bge {name} vs Bge fp32 vs ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version} "
                          + (precision == Precision.Int8 ? "int8 (DynamicQuantizeMatMul, per-tensor symmetric int8 weights, as quantize_dynamic writes them)" : "fp32 (its CPU provider has no bf16 MatMul)")
                          + $", {threads} threads, {Environment.ProcessorCount} logical CPUs, {Compare.CpuName()}");
        Console.WriteLine($"Kernels at {Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)}; int8 dot products: {Bge.Core.Kernels.Gemm.BestInt8Kernel(Bge.Core.Kernels.Simd.Default)}");
        Console.WriteLine();
        Console.WriteLine($"| {"case",-36} | {"ours " + name,12} | {"ours fp32",12} | {ortName,12} | {"vs fp32",7} | {"vs ORT",7} |");
        Console.WriteLine($"|{new string('-', 38)}|{new string('-', 14)}|{new string('-', 14)}|{new string('-', 14)}|{new string('-', 9)}|{new string('-', 9)}|");
        var pairs = StsBenchmark.Load(Path.Combine(RepositoryPaths.Shared, "data", "stsb", "sts-test.csv"));
        var sentences = StsBenchmark.UniqueSentences(pairs);
        foreach (var model in BenchModels.Recipes.Models.Select(m => m.Name))
        {
            var label = Compare.Short(model);
            var source = BenchModels.Directory(model);
            var quantized = Path.Combine(Path.GetTempPath(), $"bge-bench-{model}-{name}");
            ModelQuantizer.Write(ModelDirectory.Open(source), quantized, precision);
            var options = new EmbedderOptions { DegreeOfParallelism = threads };
            var ours = Embedder.Load(quantized, options);
            var fp32 = Embedder.Load(source, options);
            if (ours.Model.Precision != precision || fp32.Model.Precision != Precision.Fp32)
            {
                throw new InvalidOperationException($"{quantized} loaded at {Precisions.Name(ours.Model.Precision)}, {source} at {Precisions.Name(fp32.Model.Precision)}");
            }

            var onnx = BenchModels.Onnx(model);
            if (precision == Precision.Int8)
            {
                var imported = OnnxBertImporter.Map(OnnxGraph.Parse(onnx, model));
                onnx = OnnxBertExport.Build(imported.Config, imported.Tensors, int8: true);
            }

            var onnxFile = Path.Combine(Path.GetTempPath(), $"bge-bench-{model}-ort-{name}.onnx");
            File.WriteAllBytes(onnxFile, onnx);
            using (var ort = new OrtEncoder(onnx, threads))
            {
                EncoderRows(label, ours, fp32, ort, threads, secondsPerCase);
                var hidden = ours.Model.Config.HiddenSize;
                var mean = ours.TrainedPooling == PoolingMode.Mean;
                var (e2e, embeddings) = Timed(
                    () => ours.Encode(sentences).Data,
                    () => fp32.Encode(sentences).Data,
                    () => ort.EmbedLikeFlagEmbedding(sentences, ours.Tokenizer, hidden, mean).SelectMany(v => v).ToArray());
                Row($"{label} STS-B {sentences.Count} sentences/s", e2e.Select(s => sentences.Count / s).ToArray());
                var spearman = embeddings.Select(data => Spearman100(pairs, sentences, data, hidden)).ToArray();
                Row($"{label} STS-B Spearman ×100 ({(mean ? "mean" : "CLS")})", spearman, format: "F2", ratios: false);

                const string text = "I love machine learning and nlp";
                var latency = Compare.Latencies(300, () => ours.Encode(text), () => fp32.Encode(text), () => ort.EmbedLikeFlagEmbedding([text], ours.Tokenizer, hidden, mean));
                Row($"{label} 1 short text, median ms (↓)", latency.Select(l => l.Median * 1e3).ToArray(), lowerIsBetter: true, format: "F2");
            }

            var loads = new[] { LoadProbe.Measure("ours", quantized, threads), LoadProbe.Measure("ours", source, threads), LoadProbe.Measure("ort", onnxFile, threads) };
            Row($"{label} load ms (↓)", loads.Select(l => l.Milliseconds).ToArray(), lowerIsBetter: true);
            Row($"{label} peak working set MB (↓)", loads.Select(l => l.PeakMegabytes).ToArray(), lowerIsBetter: true);
            Console.WriteLine(string.Create(C, $"|   (model.safetensors: {Megabytes(quantized):F1} MB at {name}, {Megabytes(source):F1} MB at fp32; the ONNX graph ONNX Runtime loads: {new FileInfo(onnxFile).Length / 1e6:F1} MB)"));
        }

        var simd = Bge.Core.Kernels.Simd.Default;
        foreach (var (m, k, n) in new[] { (16, 384, 1536), (1024, 384, 1536), (1024, 1536, 384) })
        {
            var random = new Random(m + k + n);
            var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var w = Enumerable.Range(0, n * k).Select(_ => ((float)random.NextDouble() - 0.5f) * 0.1f).ToArray();
            var (low, full) = (new Bge.Core.Kernels.PackedWeight(w, new float[n], n, k, simd, precision), new Bge.Core.Kernels.PackedWeight(w, new float[n], n, k, simd));
            var c = new float[m * n];
            var seconds = Compare.SideBySide([() => Bge.Core.Kernels.Gemm.Linear(a, m, low, c, threads), () => Bge.Core.Kernels.Gemm.Linear(a, m, full, c, threads)], secondsPerCase);
            Row($"GEMM alone {m}×{k}×{n} G(FL)OP/s", [.. seconds.Select(s => 2.0 * m * k * n / s / 1e9), double.NaN], ratios: false);
        }

        Console.WriteLine();
        Console.WriteLine($"vs fp32 = ours {name} ÷ ours fp32, vs ORT = ours {name} ÷ {ortName}, inverted for rows marked (↓); above 1 is better for ours {name}. Took {total.Elapsed.TotalSeconds:F0} s.");
        return 0;
    }

    private static double Megabytes(string directory) => new FileInfo(Path.Combine(directory, "model.safetensors")).Length / 1e6;

    /// <summary>Encoder throughput at each benchmark shape, the three engines on the same ids in alternating rounds.</summary>
    private static void EncoderRows(string label, Embedder ours, Embedder fp32, OrtEncoder ort, int threads, double secondsPerCase)
    {
        var settle = TokenBatch.FromIds(Compare.RandomIds(8, 128, ours.Model.Config.VocabSize));
        var settlePadded = settle.ToPadded(Padding.Longest, 0);
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < 2;)
        {
            ours.Model.Forward(settle, threads);
            fp32.Model.Forward(settle, threads);
            ort.Run(settlePadded);
        }

        foreach (var (batch, length) in Shapes)
        {
            var tokens = TokenBatch.FromIds(Compare.RandomIds(batch, length, ours.Model.Config.VocabSize));
            var padded = tokens.ToPadded(Padding.Longest, 0);
            var seconds = Compare.SideBySide([() => ours.Model.Forward(tokens, threads), () => fp32.Model.Forward(tokens, threads), () => ort.Run(padded)], secondsPerCase);
            Row($"{label} encoder {batch}×{length} tok/s", seconds.Select(s => batch * length / s).ToArray());
        }
    }

    /// <summary>One timed call of each, in order, keeping what each returned.</summary>
    private static (double[] Seconds, float[][] Results) Timed(params Func<float[]>[] calls)
    {
        var (seconds, results) = (new double[calls.Length], new float[calls.Length][]);
        for (var i = 0; i < calls.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            results[i] = calls[i]();
            seconds[i] = clock.Elapsed.TotalSeconds;
        }

        return (seconds, results);
    }

    /// <summary>Spearman × 100 of the pairs' cosine similarities (the rows are L2-normalized) with their gold scores.</summary>
    private static double Spearman100(IReadOnlyList<StsPair> pairs, IReadOnlyList<string> sentences, float[] data, int hidden)
    {
        var index = sentences.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        ReadOnlySpan<float> Row(int i) => data.AsSpan(i * hidden, hidden);
        var cosines = pairs.Select(p => (double)System.Numerics.Tensors.TensorPrimitives.Dot(Row(index[p.Sentence1]), Row(index[p.Sentence2]))).ToList();
        return 100 * Spearman.Correlation(cosines, pairs.Select(p => p.Score).ToList());
    }

    // values: ours at the precision, ours fp32, ONNX Runtime.
    private static void Row(string name, double[] values, bool lowerIsBetter = false, string format = "N1", bool ratios = true)
    {
        string Ratio(double other) => ratios ? (lowerIsBetter ? other / values[0] : values[0] / other).ToString("F2", C) + "×" : "";
        string Cell(double v) => double.IsFinite(v) ? v.ToString(format, C) : "";
        Console.WriteLine($"| {name,-36} | {Cell(values[0]),12} | {Cell(values[1]),12} | {Cell(values[2]),12} | {Ratio(values[1]),7} | {Ratio(values[2]),7} |");
    }
}
