using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>The feed-forward expansion with GELU (<c>intermediate.dense</c>, hidden_act "gelu"), the activation fused into the GEMM.</summary>
internal sealed class Intermediate(Linear dense)
{
    public static Intermediate Load(Checkpoint weights, string prefix, SimdWidth simd, Precision precision) =>
        new(Linear.Load(weights, prefix + "dense", weights.Config.IntermediateSize, weights.Config.HiddenSize, simd, precision));

    public int Width => dense.Out;

    // (T, H) -> (T, I)
    public void Forward(ReadOnlySpan<float> hidden, Span<float> output, int tokens, int parallelism)
    {
        dense.Forward(hidden, tokens, output, parallelism, Gemm.Epilogue.Gelu);
    }
}
