using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Measurement;
using Bge.Reference;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// Long inputs on a BERT-base-shaped encoder (12 layers, hidden 768, 12 heads, FFN
/// 3072) with 8,194 positions and random weights, written once (about 0.9 GB under the temp folder) as a model
/// directory for us and as an ONNX graph of the same tensors for ONNX Runtime. Each measurement runs in a child
/// process of its own (<c>long-probe ENGINE LENGTH THREADS RUNS</c>), so the peak working set it reports (VmHWM)
/// belongs to one engine, its model and one input; rounds alternate the engines and the table gives medians.
/// <c>long-attention</c> times the attention kernel alone: 12 heads of one sequence on the given threads.
/// </summary>
internal static class LongInputs
{
    public static EncoderConfig Config { get; } = BertBase.Config with { MaxPositionEmbeddings = 8194 };

    public static string Folder => Path.Combine(Path.GetTempPath(), "bge-bench-long");

    private static string ModelDirectory => Path.Combine(Folder, "model");

    private static string OnnxFile => Path.Combine(Folder, "model.onnx");

    private static void EnsureWritten() =>
        BertBase.EnsureWritten(Folder, Config, seed: 8194, "the random long-input model", "a BERT-base encoder (12 layers, hidden 768) with 8,194 positions");

    /// <summary>The table: for each length, <paramref name="rounds"/> rounds of one child per engine, alternating.</summary>
    public static int Run(int threads, int rounds, int[] lengths)
    {
        EnsureWritten();
        Console.WriteLine($"Long inputs: Bge vs ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version}, batch 1, {threads} threads, {Environment.ProcessorCount} logical CPUs, {Machine.CpuName()}");
        Console.WriteLine($"model: {Config.NumHiddenLayers} layers, hidden {Config.HiddenSize}, {Config.NumAttentionHeads} heads, FFN {Config.IntermediateSize}, {Config.MaxPositionEmbeddings} positions; {rounds} rounds per length, engines alternating, each in its own process; medians");
        Console.WriteLine();
        Console.WriteLine("| tokens | Bge tok/s | ORT tok/s | ratio | Bge peak MB | ORT peak MB | peak ratio (ORT ÷ Bge) | Bge GFLOP/s |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        var perFlop = new Dictionary<int, double>();
        foreach (var length in lengths)
        {
            var runs = length >= 8192 ? 2 : length >= 2048 ? 3 : 5;
            var ours = new List<(double Rate, double Peak)>();
            var theirs = new List<(double Rate, double Peak)>();
            for (var round = 0; round < rounds; round++)
            {
                // Who goes first alternates too, so neither engine always meets the other's leftover heat.
                var order = round % 2 == 0 ? new[] { "ours", "ort" } : ["ort", "ours"];
                foreach (var engine in order)
                {
                    var result = Probe(engine, length, threads, runs);
                    (engine == "ours" ? ours : theirs).Add(result);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {length} round {round + 1} {engine}: {result.Rate:F1} tok/s, peak {result.Peak:F0} MB"));
                }
            }

            var (rate, peak) = (SingleCalls.Median(ours.Select(o => o.Rate)), SingleCalls.Median(ours.Select(o => o.Peak)));
            var (ortRate, ortPeak) = (SingleCalls.Median(theirs.Select(o => o.Rate)), SingleCalls.Median(theirs.Select(o => o.Peak)));
            var gflops = Compare.Flops(Config, 1, length) / length * rate / 1e9;
            perFlop[length] = gflops;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {length:N0} | {rate:F1} | {ortRate:F1} | {rate / ortRate:F2}× | {peak:F0} | {ortPeak:F0} | {ortPeak / peak:F1}× | {gflops:F1} |"));
        }

        if (perFlop.TryGetValue(512, out var short512) && perFlop.TryGetValue(2048, out var long2048))
        {
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Bge's rate per FLOP at 2,048 tokens is {long2048 / short512:P0} of its rate at 512 (FLOPs: 2·T·(4H²+2HI) + 4·T²·H per layer)"));
        }

        return 0;
    }

    private static (double Rate, double Peak) Probe(string engine, int length, int threads, int runs)
    {
        var output = ChildProcess.Run(["long-probe", engine, .. new[] { length, threads, runs }.Select(v => v.ToString(CultureInfo.InvariantCulture))]).Split(' ');
        if (output.Length != 2)
        {
            throw new InvalidOperationException($"long-probe {engine} {length} printed '{string.Join(' ', output)}'");
        }

        return (double.Parse(output[0], CultureInfo.InvariantCulture), double.Parse(output[1], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The child: load one engine, one untimed forward pass at the length, then <paramref name="runs"/> timed ones;
    /// prints the median tokens/s and the process's VmHWM in MB.
    /// </summary>
    public static int ProbeChild(string engine, int length, int threads, int runs)
    {
        var ids = Compare.RandomIds(1, length, Config.VocabSize);
        var batch = TokenBatch.FromIds(ids);
        Action forward;
        IDisposable? owner = null;
        if (engine == "ours")
        {
            // The model's forward pass directly: the embedder's own length cap is not what is measured here.
            var embedder = Embedder.Load(ModelDirectory, new EmbedderOptions { DegreeOfParallelism = threads });
            forward = () => embedder.Model.Forward(batch, threads);
        }
        else
        {
            var ort = new OrtEncoder(File.ReadAllBytes(OnnxFile), threads);
            var padded = batch.ToPadded(Padding.Longest, 0);
            forward = () => ort.Run(padded);
            owner = ort;
        }

        using (owner)
        {
            forward();
            var rates = new double[runs];
            for (var r = 0; r < runs; r++)
            {
                var clock = Stopwatch.StartNew();
                forward();
                rates[r] = length / clock.Elapsed.TotalSeconds;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{SingleCalls.Median(rates):F2} {ChildProcess.PeakMegabytes():F1}"));
        }

        return 0;
    }

    /// <summary>
    /// The attention kernel alone at each length and key tile: one layer's 12 heads of one sequence spread over
    /// <paramref name="threads"/> as the model spreads them. The tiles' runs interleave (one of each per round), so a
    /// neighbour's load falls on all of them alike; medians of <paramref name="repeats"/> rounds after a warm-up, of
    /// the wall clock and of the process's CPU time (steadier than the wall clock when other processes share the CPUs).
    /// </summary>
    public static int Kernel(int threads, int repeats, int[] lengths, int[] tiles)
    {
        var (hidden, heads) = (Config.HiddenSize, Config.NumAttentionHeads);
        var d = hidden / heads;
        var simd = Simd.Default;
        Console.WriteLine($"attention kernel, {heads} heads × {d}, {threads} threads, {Simd.Describe(simd)}, {Machine.CpuName()}; medians of {repeats} interleaved rounds");
        Console.WriteLine("| tokens | key tile | wall ms per layer | CPU ms per layer | GFLOP/s (4·T²·H per wall s) | scratch per head KB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        using var self = Process.GetCurrentProcess();
        foreach (var length in lengths)
        {
            var random = new Random(length);
            var qkv = new float[length * 3 * hidden];
            for (var i = 0; i < qkv.Length; i++)
            {
                qkv[i] = (float)((random.NextDouble() * 2) - 1);
            }

            var context = new float[length * hidden];
            var scale = 1f / MathF.Sqrt(d);
            var variants = tiles.Select(tile => (Name: tile.ToString(CultureInfo.InvariantCulture), Scratch: Attention.ScratchSize(length, d, tile), Run: (Action<float[], int>)((scratch, head) =>
                Attention.HeadWithKeyTile(qkv, 3 * hidden, head * d, hidden + (head * d), (2 * hidden) + (head * d), length, d, scale, context, hidden, head * d, scratch, simd, tile)))).ToList();
            var wall = variants.Select(_ => new double[repeats]).ToArray();
            var cpu = variants.Select(_ => new double[repeats]).ToArray();
            for (var r = -1; r < repeats; r++)
            {
                for (var v = 0; v < variants.Count; v++)
                {
                    self.Refresh();
                    var (clock, used) = (Stopwatch.StartNew(), self.TotalProcessorTime);
                    WorkerTeam.For(heads, threads, head =>
                    {
                        var scratch = ArrayPool<float>.Shared.Rent(variants[v].Scratch);
                        variants[v].Run(scratch, head);
                        ArrayPool<float>.Shared.Return(scratch);
                    });
                    self.Refresh();
                    if (r >= 0)
                    {
                        (wall[v][r], cpu[v][r]) = (clock.Elapsed.TotalMilliseconds, (self.TotalProcessorTime - used).TotalMilliseconds);
                    }
                }
            }

            for (var v = 0; v < variants.Count; v++)
            {
                Array.Sort(wall[v]);
                Array.Sort(cpu[v]);
                var ms = wall[v][repeats / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {length:N0} | {variants[v].Name} | {ms:F1} | {cpu[v][repeats / 2]:F1} | {4.0 * length * length * hidden / ms / 1e6:F1} | {variants[v].Scratch * 4 / 1024.0:F0} |"));
            }
        }

        return 0;
    }
}
