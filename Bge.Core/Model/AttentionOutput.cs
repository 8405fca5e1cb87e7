using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>Attention output projection, residual and LayerNorm (<c>attention.output.dense</c>, <c>attention.output.LayerNorm</c>).</summary>
internal sealed class AttentionOutput(Linear dense, LayerNormalization layerNorm)
{
    public static AttentionOutput Load(Checkpoint weights, string prefix, SimdWidth simd, Precision precision)
    {
        var h = weights.Config.HiddenSize;
        return new(Linear.Load(weights, prefix + "dense", h, h, simd, precision), LayerNormalization.Load(weights, prefix + "LayerNorm", simd));
    }

    // (T, H) context, (T, H) input -> (T, H) LayerNorm(context·Wᵀ + b + input)
    public void Forward(ReadOnlySpan<float> context, ReadOnlySpan<float> input, Span<float> output, int tokens, int parallelism)
    {
        dense.Forward(context, tokens, output, parallelism);
        layerNorm.Forward(output, input, tokens, parallelism);
    }
}
