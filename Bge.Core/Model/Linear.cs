using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>PyTorch's nn.Linear, <c>y = x·Wᵀ + b</c>, its weight packed once for the GEMM kernel.</summary>
internal sealed class Linear
{
    public Linear(float[] weight, float[] bias, int outFeatures, int inFeatures)
    {
        Weight = new PackedWeight(weight, bias, outFeatures, inFeatures);
    }

    /// <summary>Loads <c>{name}.weight</c> and <c>{name}.bias</c>.</summary>
    public static Linear Load(BertWeights weights, string name, int outFeatures, int inFeatures) =>
        new(weights.Read(name + ".weight"), weights.Read(name + ".bias"), outFeatures, inFeatures);

    public PackedWeight Weight { get; }

    public int Out => Weight.Out;

    // (T, in) -> (T, out), with the activation applied tile by tile when one is given
    public void Forward(ReadOnlySpan<float> x, int tokens, Span<float> y, int parallelism, Gemm.Epilogue epilogue = Gemm.Epilogue.None) =>
        Gemm.Linear(x, tokens, Weight, y, parallelism, epilogue: epilogue);
}

/// <summary>nn.LayerNorm over the hidden dimension.</summary>
internal sealed class LayerNormalization(float[] weight, float[] bias, float eps)
{
    public static LayerNormalization Load(BertWeights weights, string name) =>
        new(weights.Read(name + ".weight"), weights.Read(name + ".bias"), (float)weights.Config.LayerNormEps);

    // (T, H) -> (T, H), in place
    public void Forward(Span<float> x, int tokens) => LayerNorm.InPlace(x, tokens, weight, bias, eps);
}
