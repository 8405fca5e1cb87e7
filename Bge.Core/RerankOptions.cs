using Bge.Tokenizer;

namespace Bge.Core;

/// <summary>How a <see cref="Reranker"/> call encodes and batches its pairs.</summary>
public sealed record RerankOptions
{
    /// <summary>The longest pair in tokens, specials included; the reranker's <see cref="Reranker.MaxLength"/> when null.</summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// How a pair longer than <see cref="MaxLength"/> is cut: the longer text first (Hugging Face's default,
    /// what CrossEncoder and FlagReranker do), or only the passage.
    /// </summary>
    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;

    /// <summary>Pairs per forward pass at most (fewer when they are long: no more tokens than this many 512-token pairs).</summary>
    public int BatchSize { get; init; } = 32;
}

/// <summary>One passage's place in a ranking.</summary>
/// <param name="Index">The passage's position in the input.</param>
/// <param name="Logit">The classifier's relevance logit (higher is more relevant).</param>
public sealed record RerankResult(int Index, float Logit)
{
    /// <summary>The logit through a sigmoid, in (0, 1): FlagReranker's <c>normalize=True</c>, CrossEncoder's default for one label.</summary>
    public float Score => Reranker.Sigmoid(Logit);
}
