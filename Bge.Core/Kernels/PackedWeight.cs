namespace Bge.Core.Kernels;

/// <summary>
/// A Linear layer's weight, packed once at load for <see cref="Gemm"/>. PyTorch stores it [out × in]; the
/// kernel wants, for each group of <see cref="PanelWidth"/> outputs, a contiguous [in × PanelWidth] panel, so
/// its inner loop reads memory strictly in order. The last panel and the bias are zero-padded to a full width.
/// </summary>
public sealed class PackedWeight
{
    /// <summary>Output columns per panel: two Vector256 registers.</summary>
    public const int PanelWidth = 16;

    /// <summary>Packs a [<paramref name="outFeatures"/> × <paramref name="inFeatures"/>] weight and its bias.</summary>
    /// <exception cref="ArgumentException">The weight's length is not out × in, or the bias's is not out.</exception>
    public PackedWeight(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outFeatures, int inFeatures)
    {
        if (weight.Length != outFeatures * inFeatures || bias.Length != outFeatures)
        {
            throw new ArgumentException($"weight has {weight.Length} values and bias {bias.Length}, expected {outFeatures} × {inFeatures} and {outFeatures}", nameof(weight));
        }

        Out = outFeatures;
        In = inFeatures;
        Panels = (outFeatures + PanelWidth - 1) / PanelWidth;
        Data = new float[Panels * inFeatures * PanelWidth];
        Bias = new float[Panels * PanelWidth];
        bias.CopyTo(Bias);
        for (var o = 0; o < outFeatures; o++)
        {
            var panel = Data.AsSpan(o / PanelWidth * inFeatures * PanelWidth);
            for (var i = 0; i < inFeatures; i++)
            {
                panel[(i * PanelWidth) + (o % PanelWidth)] = weight[(o * inFeatures) + i];
            }
        }
    }

    /// <summary>Output features (N).</summary>
    public int Out { get; }

    /// <summary>Input features (K).</summary>
    public int In { get; }

    /// <summary>Number of panels.</summary>
    public int Panels { get; }

    /// <summary>The panels, each [In × PanelWidth], one after another.</summary>
    public float[] Data { get; }

    /// <summary>The bias, zero-padded to Panels × PanelWidth.</summary>
    public float[] Bias { get; }
}
