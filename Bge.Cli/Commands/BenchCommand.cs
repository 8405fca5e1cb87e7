using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Measurement;

namespace Bge.Cli.Commands;

/// <summary>
/// <c>bge bench</c>: encoder throughput on this machine at the shapes <c>compare</c> uses (batch × tokens per text),
/// and one short text's latency and garbage per call, so that two builds of bge (JIT and Native AOT, say) can be
/// compared on equal terms without ONNX Runtime.
/// </summary>
internal static class BenchCommand
{
    private const string ShortText = "I love machine learning and nlp";

    private static readonly (int Batch, int Length)[] Shapes = [(1, 16), (8, 128), (32, 128), (1, 512)];

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seconds = new Option<double>("--seconds") { Description = "Seconds of timed calls per shape.", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Threads per forward pass.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var precision = CommonOptions.Precision();
        var command = new Command("bench", "Measure encoder throughput (tokens/s) at batch × length 1×16, 8×128, 32×128 and 1×512, and one short text's latency (p50, p99), GCs and bytes allocated per call.") { model, seconds, threads, precision };
        command.SetAction(parse =>
        {
            var directory = ModelResolver.Create().Resolve(parse.GetValue(model));
            var (budget, parallelism) = (parse.GetValue(seconds), parse.GetValue(threads));
            ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1, "--threads");
            var loading = Stopwatch.StartNew();
            var embedder = Embedder.Load(directory, new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)), DegreeOfParallelism = parallelism });
            var loaded = loading.Elapsed.TotalMilliseconds;
            Console.WriteLine($"model: {embedder.Name}; kernels: {Simd.Describe(embedder.Model.Simd)}; precision: {Precisions.Name(embedder.Model.Precision)}{(embedder.Model.Precision == Precision.Int8 ? $" (int8 products: {Gemm.DescribeInt8(embedder.Model.Simd)})" : "")}; threads: {parallelism}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load ms {loaded:F0}"));
            var words = string.Join(' ', Enumerable.Range(0, 600).Select(i => Words[i * 7 % Words.Length]));
            var warmUp = embedder.Tokenizer.EncodeBatch(Enumerable.Repeat(words, 8).ToList(), 128);
            for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < Math.Min(2, budget);)
            {
                embedder.Model.Forward(warmUp, parallelism);
            }

            foreach (var (batch, length) in Shapes)
            {
                var tokens = embedder.Tokenizer.EncodeBatch(Enumerable.Repeat(words, batch).ToList(), length);
                var times = new List<double>();
                for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < budget || times.Count < 3;)
                {
                    var one = Stopwatch.StartNew();
                    embedder.Model.Forward(tokens, parallelism);
                    times.Add(one.Elapsed.TotalSeconds);
                }

                times.Sort();
                var median = times[times.Count / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{batch}x{tokens.Ids.Length / batch} tok/s {tokens.Ids.Length / median:F0} (median of {times.Count} calls)"));
            }

            // One short text, as a service embeds a query: the whole Encode call, tokenizer and pooling included.
            var text = SingleCalls.Measure(() => embedder.Encode(ShortText), warmUp: 50, count: 500);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"1 text p50 ms {text.P50Milliseconds:F2} p99 ms {text.P99Milliseconds:F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"1 text gen0 GCs per call {text.Gen0PerCall:F3} gen1 {text.Gen1PerCall:F3} gen2 {text.Gen2PerCall:F3} bytes per call {text.BytesPerCall:F0}"));
            using (var process = Process.GetCurrentProcess())
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak working set MB {process.PeakWorkingSet64 / 1048576.0:F0}"));
            }

            return 0;
        });
        return command;
    }

    private static readonly string[] Words =
    [
        "the", "model", "reads", "every", "word", "of", "a", "sentence", "and", "turns", "it", "into", "one", "vector",
        "search", "finds", "passages", "whose", "vectors", "are", "close", "to", "query", "question", "answer", "city",
        "river", "music", "history", "science", "water", "light", "house", "school", "market", "garden",
    ];
}
