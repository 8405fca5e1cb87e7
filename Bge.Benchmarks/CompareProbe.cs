using System.Diagnostics;
using System.Globalization;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Measurement;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// The child of <c>compare</c>, one engine in a process of its own:
/// <c>compare-probe ours|ort MODEL PRECISION CASE THREADS SECONDS</c> loads the engine, makes one call of the case
/// (the peak working set is read then: load and one call, nothing after), warms up, times the case and prints one
/// line, <c>result key=value …</c>, always with <c>load_ms</c> and <c>peak_mb</c>. Cases: <c>BxL</c>, the encoder's
/// forward pass on <see cref="Compare.RandomIds"/> (<c>rate</c>: tokens/s, median call); <c>stsb</c>, every unique
/// STS-B sentence embedded in one call (<c>rate</c>: sentences/s, and <c>spearman</c> of those embeddings);
/// <c>text</c>, one short text embedded <see cref="TextCalls"/> times (<c>p50_ms</c>, <c>p99_ms</c>, <c>gen0</c>,
/// <c>gen1</c>, <c>gen2</c> and <c>bytes</c> per call; for ONNX Runtime what its managed side allocates); <c>rerank</c>,
/// one query against 100 passages through a cross-encoder (<see cref="RerankCase"/>; <c>rate</c>: pair tokens/s).
/// </summary>
internal static class CompareProbe
{
    public const string ShortText = "I love machine learning and nlp";

    public const int TextCalls = 500;

    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>Runs the child for one engine and case, in the parent.</summary>
    public static IReadOnlyDictionary<string, double> Measure(CompareEngine engine, string model, string @case, int threads, double seconds)
    {
        var line = ChildProcess.Run("compare-probe", engine.Argument, model, Precisions.Name(engine.Precision), @case, threads.ToString(C), seconds.ToString(C));
        if (!line.StartsWith("result ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"compare-probe {engine.Label} {model} {@case} printed '{line}'");
        }

        return line["result ".Length..].Split(' ').Select(pair => pair.Split('=', 2)).ToDictionary(p => p[0], p => double.Parse(p[1], C));
    }

    /// <summary>The child itself.</summary>
    public static int Run(string engineName, string model, string precision, string @case, int threads, double seconds)
    {
        var spec = CompareEngine.Parse(engineName, precision);
        var source = ModelDirectory.Open(CompareEngine.SourceDirectory(model));
        if (@case == "rerank")
        {
            Print(Rerank(spec, model, source, threads, seconds));
            return 0;
        }

        var engine = Load(spec, spec.ModelPath(model), source, threads);
        using (engine.Owner)
        {
            var results = @case switch
            {
                "stsb" => Sts(engine, seconds),
                "text" => Text(engine, seconds),
                _ => Encoder(engine, source.Config, @case, seconds),
            };
            results["load_ms"] = engine.LoadMilliseconds;
            Print(results);
        }

        return 0;
    }

    private static void Print(Dictionary<string, double> results) =>
        Console.WriteLine("result " + string.Join(' ', results.Select(r => $"{r.Key}={r.Value.ToString("R", C)}")));

    /// <summary>The <see cref="RerankCase"/>: ours loads the cross-encoder directory; ONNX Runtime the encoder graph and the same head.</summary>
    private static Dictionary<string, double> Rerank(CompareEngine spec, string model, ModelDirectory source, int threads, double seconds)
    {
        var crossEncoder = RerankCase.Directory(model, spec.Ort ? Precision.Fp32 : spec.Precision);
        var clock = Stopwatch.StartNew();
        Func<float[]> score;
        IDisposable? owner = null;
        Tokenizer.Tokenizer tokenizer;
        string query;
        string[] passages;
        if (spec.Ort)
        {
            var ort = new OrtEncoder(File.ReadAllBytes(spec.ModelPath(model)), threads);
            owner = ort;
            clock.Stop();
            tokenizer = Tokenizer.Tokenizer.FromDirectory(source.Path, source.ModelMaxLength);
            (query, passages) = RerankCase.Pairs(tokenizer);
            score = RerankCase.Ort(ort, crossEncoder, tokenizer, query, passages);
        }
        else
        {
            var reranker = Reranker.Load(crossEncoder, new EmbedderOptions { DegreeOfParallelism = threads });
            clock.Stop();
            tokenizer = reranker.Tokenizer;
            (query, passages) = RerankCase.Pairs(tokenizer);
            score = () => reranker.Score(query, passages);
        }

        using (owner)
        {
            var tokens = passages.Sum(p => tokenizer.EncodePair(query, p, 512).Length);
            var results = FirstCall(() => score());
            Calls(() => score(), WarmUpSeconds(seconds), atLeast: 1);
            results["rate"] = tokens / SingleCalls.Median(Calls(() => score(), seconds, atLeast: 3));
            results["load_ms"] = clock.Elapsed.TotalMilliseconds;
            return results;
        }
    }

    private static Dictionary<string, double> Encoder(Engine engine, EncoderConfig config, string shape, double seconds)
    {
        var parts = shape.Split('x');
        var (batch, length) = (int.Parse(parts[0], C), int.Parse(parts[1], C));
        var forward = engine.Forward(TokenBatch.FromIds(Compare.RandomIds(batch, length, config.VocabSize)));
        var results = FirstCall(forward);
        Calls(forward, WarmUpSeconds(seconds), atLeast: 2);
        results["rate"] = batch * length / SingleCalls.Median(Calls(forward, seconds, atLeast: 3));
        return results;
    }

    private static Dictionary<string, double> Sts(Engine engine, double seconds)
    {
        var pairs = StsBenchmark.Load(BenchModels.StsFile);
        var sentences = StsBenchmark.UniqueSentences(pairs);
        var results = FirstCall(() => engine.Embed([.. sentences.Take(64)]));
        Func<int, ReadOnlyMemory<float>>? rows = null;
        results["rate"] = sentences.Count / SingleCalls.Median(Calls(() => rows = engine.Embed(sentences), seconds, atLeast: 1));
        results["spearman"] = Spearman100(pairs, sentences, rows!);
        return results;
    }

    private static Dictionary<string, double> Text(Engine engine, double seconds)
    {
        var call = () => engine.EmbedOne(ShortText);
        var results = FirstCall(call);
        Calls(call, WarmUpSeconds(seconds), atLeast: 50);
        var latency = SingleCalls.Measure(call, warmUp: 0, TextCalls);
        results["p50_ms"] = latency.P50Milliseconds;
        results["p99_ms"] = latency.P99Milliseconds;
        results["gen0"] = latency.Gen0PerCall;
        results["gen1"] = latency.Gen1PerCall;
        results["gen2"] = latency.Gen2PerCall;
        results["bytes"] = latency.BytesPerCall;
        return results;
    }

    // Long enough for tiered compilation to have promoted what the case runs, also when --seconds is short.
    private static double WarmUpSeconds(double seconds) => Math.Max(0.5, seconds);

    /// <summary>The peak working set after loading and one call: what the model costs to hold, before any warm-up or timing.</summary>
    private static Dictionary<string, double> FirstCall(Action call)
    {
        call();
        return new Dictionary<string, double>(StringComparer.Ordinal) { ["peak_mb"] = ChildProcess.PeakMegabytes() };
    }

    /// <summary>Seconds of each call, calling for <paramref name="seconds"/> and at least <paramref name="atLeast"/> times.</summary>
    private static List<double> Calls(Action call, double seconds, int atLeast)
    {
        var times = new List<double>();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed.TotalSeconds < seconds || times.Count < atLeast;)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return times;
    }

    /// <summary>Spearman × 100 of the pairs' cosine similarities (the rows are L2-normalized) with their gold scores.</summary>
    private static double Spearman100(IReadOnlyList<StsPair> pairs, IReadOnlyList<string> sentences, Func<int, ReadOnlyMemory<float>> row)
    {
        var index = sentences.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        var cosines = pairs.Select(p => (double)System.Numerics.Tensors.TensorPrimitives.Dot(row(index[p.Sentence1]).Span, row(index[p.Sentence2]).Span)).ToList();
        return 100 * Spearman.Correlation(cosines, pairs.Select(p => p.Score).ToList());
    }

    /// <summary>
    /// Ours from its model directory, at the precision the directory holds; ONNX Runtime from its graph, fed by our
    /// tokenizer as FlagEmbedding feeds a model. Only the engine's own load is timed: ours reads its tokenizer there,
    /// while ONNX Runtime's session has none, and a tokenizer of ours would not be its cost.
    /// </summary>
    private static Engine Load(CompareEngine spec, string path, ModelDirectory source, int threads)
    {
        var clock = Stopwatch.StartNew();
        if (!spec.Ort)
        {
            var embedder = Embedder.Load(path, new EmbedderOptions { DegreeOfParallelism = threads });
            var loaded = clock.Elapsed.TotalMilliseconds;
            if (embedder.Model.Precision != spec.Precision)
            {
                throw new InvalidOperationException($"{path} loaded at {Precisions.Name(embedder.Model.Precision)}, not {Precisions.Name(spec.Precision)}");
            }

            var dimension = embedder.Dimension;
            return new Engine(
                tokens => () => embedder.Model.Forward(tokens, threads),
                texts =>
                {
                    var data = embedder.Encode(texts).Data;
                    return i => data.AsMemory(i * dimension, dimension);
                },
                text => embedder.Encode(text),
                loaded,
                null);
        }

        var ort = new OrtEncoder(File.ReadAllBytes(path), threads);
        var loadedOrt = clock.Elapsed.TotalMilliseconds;
        var tokenizer = Tokenizer.Tokenizer.FromDirectory(source.Path, source.ModelMaxLength);
        var (hidden, mean) = (source.Config.HiddenSize, source.Pooling == PoolingMode.Mean);
        return new Engine(
            tokens =>
            {
                var padded = tokens.ToPadded(Padding.Longest, 0);
                return () => ort.Run(padded);
            },
            texts =>
            {
                var rows = ort.EmbedLikeFlagEmbedding(texts, tokenizer, hidden, mean);
                return i => rows[i];
            },
            text => ort.EmbedLikeFlagEmbedding([text], tokenizer, hidden, mean),
            loadedOrt,
            ort);
    }

    /// <param name="Forward">A call of the encoder's forward pass on a batch (prepared outside the call).</param>
    /// <param name="Embed">Texts embedded with the model's trained pooling, L2-normalized; the result gives row i.</param>
    /// <param name="EmbedOne">One text embedded so.</param>
    /// <param name="LoadMilliseconds">How long the engine took to load.</param>
    /// <param name="Owner">What to dispose at the end.</param>
    private sealed record Engine(Func<TokenBatch, Action> Forward, Func<IReadOnlyList<string>, Func<int, ReadOnlyMemory<float>>> Embed, Action<string> EmbedOne, double LoadMilliseconds, IDisposable? Owner);
}
