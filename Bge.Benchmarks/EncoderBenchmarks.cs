using BenchmarkDotNet.Attributes;
using Bge.Core;
using Bge.Tokenizer;

namespace Bge.Benchmarks;

/// <summary>Encoder forward pass, ours and ONNX Runtime, on the same model, token ids and thread count.</summary>
[MemoryDiagnoser]
public class EncoderBenchmarks
{
    private Embedder _embedder = null!;
    private OrtEncoder _ort = null!;
    private TokenBatch _batch = null!;
    private PaddedBatch _padded = null!;

    /// <summary>The provisioned model.</summary>
    [Params("snowflake-arctic-embed-xs", "all-MiniLM-L6-v2")]
    public string Model { get; set; } = "";

    /// <summary>Batch × length.</summary>
    [Params("1x16", "8x128", "32x128", "1x512")]
    public string Shape { get; set; } = "";

    /// <summary>Loads both engines with as many threads as the machine has.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var threads = Environment.ProcessorCount;
        _embedder = Embedder.Load(BenchModels.Directory(Model), new EmbedderOptions { DegreeOfParallelism = threads });
        _ort = new OrtEncoder(BenchModels.Onnx(Model), threads);
        var parts = Shape.Split('x');
        _batch = TokenBatch.FromIds(Compare.RandomIds(int.Parse(parts[0]), int.Parse(parts[1]), _embedder.Model.Config.VocabSize));
        _padded = _batch.ToPadded(Padding.Longest, 0);
    }

    /// <summary>Releases ONNX Runtime's session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _ort.Dispose();

    /// <summary>Our encoder.</summary>
    [Benchmark(Baseline = true)]
    public object Bge() => _embedder.Model.Forward(_batch, _embedder.Options.DegreeOfParallelism);

    /// <summary>ONNX Runtime on the model's own graph.</summary>
    [Benchmark]
    public object OnnxRuntime() => _ort.Run(_padded);
}

/// <summary>End to end on STS-B's unique sentences, tokenization included.</summary>
[MemoryDiagnoser]
public class EndToEndBenchmarks
{
    private Embedder _embedder = null!;
    private OrtEncoder _ort = null!;
    private IReadOnlyList<string> _sentences = [];

    /// <summary>Loads both engines for the default model.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var model = BenchModels.Recipes.Default;
        _embedder = Embedder.Load(BenchModels.Directory(model), new EmbedderOptions { DegreeOfParallelism = Environment.ProcessorCount });
        _ort = new OrtEncoder(BenchModels.Onnx(model), Environment.ProcessorCount);
        _sentences = BenchModels.StsSentences();
    }

    /// <summary>Releases ONNX Runtime's session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _ort.Dispose();

    /// <summary>Ours, as users call it.</summary>
    [Benchmark(Baseline = true)]
    public object Bge() => _embedder.EncodeCorpus(_sentences);

    /// <summary>ONNX Runtime fed as FlagEmbedding feeds a model.</summary>
    [Benchmark]
    public object OnnxRuntime() => _ort.EmbedLikeFlagEmbedding(_sentences, _embedder.Tokenizer, _embedder.Dimension);
}
