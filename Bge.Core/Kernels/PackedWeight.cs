namespace Bge.Core.Kernels;

/// <summary>
/// A Linear layer's weight, packed once at load for <see cref="Gemm"/> at one <see cref="SimdWidth"/>. PyTorch stores
/// it [out × in]; the kernel wants, for each group of <see cref="PanelWidth"/> outputs (two vectors of the width),
/// a contiguous [in × PanelWidth] panel, so its inner loop reads memory strictly in order. The last panel and the
/// bias are zero-padded to a full width.
/// </summary>
public sealed class PackedWeight
{
    /// <summary>Packs a [<paramref name="outFeatures"/> × <paramref name="inFeatures"/>] weight and its bias for <paramref name="simd"/>.</summary>
    /// <exception cref="ArgumentException">The weight's length is not out × in, or the bias's is not out.</exception>
    public PackedWeight(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outFeatures, int inFeatures, SimdWidth simd)
        : this(outFeatures, inFeatures, simd)
    {
        Pack(0, weight, bias);
    }

    /// <summary>An all-zero packed weight for <paramref name="simd"/>, to be filled with <see cref="Pack"/> (several Linear layers may be stacked).</summary>
    public PackedWeight(int outFeatures, int inFeatures, SimdWidth simd)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        if (!Enum.IsDefined(simd))
        {
            throw new ArgumentOutOfRangeException(nameof(simd), simd, "not a SIMD width");
        }

        Out = outFeatures;
        In = inFeatures;
        Simd = simd;
        PanelWidth = Gemm.PanelWidth(simd);
        Panels = (outFeatures + PanelWidth - 1) / PanelWidth;
        Data = new float[(long)Panels * inFeatures * PanelWidth];
        Bias = new float[Panels * PanelWidth];
    }

    /// <summary>Packs the rows (outputs) <paramref name="firstOut"/>… of a PyTorch [rows × In] weight and their biases.</summary>
    /// <exception cref="ArgumentException">The lengths do not describe whole rows inside the weight.</exception>
    public void Pack(int firstOut, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias)
    {
        var rows = bias.Length;
        if (weight.Length != rows * In || firstOut < 0 || firstOut + rows > Out)
        {
            throw new ArgumentException($"{weight.Length} weights and {bias.Length} biases are not whole rows {firstOut}.. of a {Out} × {In} weight", nameof(weight));
        }

        bias.CopyTo(Bias.AsSpan(firstOut));
        for (var r = 0; r < rows; r++)
        {
            var o = firstOut + r;
            var panel = Data.AsSpan(o / PanelWidth * In * PanelWidth);
            var source = weight.Slice(r * In, In);
            for (var i = 0; i < In; i++)
            {
                panel[(i * PanelWidth) + (o % PanelWidth)] = source[i];
            }
        }
    }

    /// <summary>Output features (N).</summary>
    public int Out { get; }

    /// <summary>Input features (K).</summary>
    public int In { get; }

    /// <summary>The width the GEMM runs at for this weight.</summary>
    public SimdWidth Simd { get; }

    /// <summary>Output columns per panel: two vectors of <see cref="Simd"/> (2 floats for the scalar path).</summary>
    public int PanelWidth { get; }

    /// <summary>Number of panels.</summary>
    public int Panels { get; }

    /// <summary>The panels, each [In × PanelWidth], one after another.</summary>
    public float[] Data { get; }

    /// <summary>The bias, zero-padded to Panels × PanelWidth.</summary>
    public float[] Bias { get; }
}
