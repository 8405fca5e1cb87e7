using Bge.Weights;

namespace Bge.Core;

/// <summary>How one encode call pools, normalizes, truncates and batches.</summary>
public sealed record EncodeOptions
{
    /// <summary>The pooling; the model's trained pooling (from its 1_Pooling/config.json) when null.</summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>L2-normalize each embedding (on by default, as BGE and FlagEmbedding do).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>
    /// Maximum tokens per text, the tokenizer's specials included; longer texts are truncated. Null (the default):
    /// the model's own limit, <see cref="Embedder.MaxLength"/>.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// Keep only the first this many dimensions of each dense embedding (Matryoshka truncation), re-normalized when
    /// <see cref="Normalize"/>; null (the default): the model's full width.
    /// </summary>
    public int? Dimensions { get; init; }

    /// <summary>Texts per forward pass, at most (see <see cref="TokensPerBatchSlot"/>).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Tokens each slot of <see cref="BatchSize"/> may take: a batch holds at most <c>BatchSize</c> texts and at most
    /// <c>BatchSize × 512</c> tokens, so a batch of long inputs needs no more memory than one of 512-token texts.
    /// A text's vector does not depend on how texts are batched.
    /// </summary>
    public const int TokensPerBatchSlot = 512;
}

/// <summary>How an embedder is set up.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Threads one encode call may use (default: the processor count).</summary>
    public int DegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// The vector width the kernels use, fixed when <see cref="Embedder.Load"/> packs the weights. Null (the default):
    /// <see cref="Kernels.Simd.Default"/>, the widest width this CPU accelerates unless the <c>BGE_SIMD</c>
    /// environment variable names another. A narrower width picks a path for testing or comparison; a wider one than
    /// the CPU accelerates gives the same results far more slowly, in .NET's software vectors.
    /// </summary>
    public Kernels.SimdWidth? Simd { get; init; }

    /// <summary>
    /// How the Linear layers' weights are held, fixed at load. Null (the default): as the model directory stores them,
    /// which is <see cref="Core.Precision.Fp32"/>, the reference, unless it was written by <c>bge model quantize</c>.
    /// <see cref="Core.Precision.Bf16"/> halves their memory and the bytes each forward pass streams;
    /// <see cref="Core.Precision.Int8"/> quarters them and multiplies in integers; the README measures what each costs
    /// in accuracy.
    /// </summary>
    public Precision? Precision { get; init; }

    /// <summary>Receives warnings, such as a pooling other than the model's trained one (default: <see cref="System.Diagnostics.Trace"/>).</summary>
    public Action<string>? Warning { get; init; }
}

/// <summary>How far an encode call has come.</summary>
/// <param name="Done">Texts embedded so far.</param>
/// <param name="Total">Texts in the call.</param>
public sealed record EncodeProgress(int Done, int Total);
