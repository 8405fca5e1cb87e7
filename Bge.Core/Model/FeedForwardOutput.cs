using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>The feed-forward contraction, residual and LayerNorm (<c>output.dense</c>, <c>output.LayerNorm</c>).</summary>
internal sealed class FeedForwardOutput(Linear dense, LayerNormalization layerNorm)
{
    public static FeedForwardOutput Load(Checkpoint weights, string prefix, SimdWidth simd, Precision precision) => new(
        Linear.Load(weights, prefix + "dense", weights.Config.HiddenSize, weights.Config.IntermediateSize, simd, precision),
        LayerNormalization.Load(weights, prefix + "LayerNorm", simd));

    // (T, I) intermediate, (T, H) input -> (T, H) LayerNorm(intermediate·Wᵀ + b + input)
    public void Forward(ReadOnlySpan<float> intermediate, ReadOnlySpan<float> input, Span<float> output, int tokens, int parallelism)
    {
        dense.Forward(intermediate, tokens, output, parallelism);
        layerNorm.Forward(output, input, tokens, parallelism);
    }
}
