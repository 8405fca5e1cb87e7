namespace Bge.Core.Kernels;

/// <summary>
/// A Linear layer's weight, packed once at load for <see cref="Gemm"/> at one <see cref="SimdWidth"/>. PyTorch stores
/// it [out × in]; the kernel wants, for each group of <see cref="PanelWidth"/> outputs (two vectors of the width),
/// a contiguous [in × PanelWidth] panel, so its inner loop reads memory strictly in order. The last panel and the
/// bias are zero-padded to a full width. At <see cref="Precision.Bf16"/> the panels hold bfloat16 (rounded to nearest
/// even) in <see cref="BFloat16"/> instead of <see cref="Data"/>; the bias stays fp32.
/// </summary>
public sealed class PackedWeight
{
    /// <summary>Packs a [<paramref name="outFeatures"/> × <paramref name="inFeatures"/>] weight and its bias for <paramref name="simd"/>.</summary>
    /// <exception cref="ArgumentException">The weight's length is not out × in, or the bias's is not out.</exception>
    public PackedWeight(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outFeatures, int inFeatures, SimdWidth simd, Precision precision = Precision.Fp32)
        : this(outFeatures, inFeatures, simd, precision)
    {
        Pack(0, weight, bias);
    }

    /// <summary>An all-zero packed weight for <paramref name="simd"/>, to be filled with <see cref="Pack"/> (several Linear layers may be stacked).</summary>
    public PackedWeight(int outFeatures, int inFeatures, SimdWidth simd, Precision precision = Precision.Fp32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        if (!Enum.IsDefined(simd))
        {
            throw new ArgumentOutOfRangeException(nameof(simd), simd, "not a SIMD width");
        }

        if (!Enum.IsDefined(precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "not a precision");
        }

        Out = outFeatures;
        In = inFeatures;
        Simd = simd;
        Precision = precision;
        PanelWidth = Gemm.PanelWidth(simd);
        Panels = (outFeatures + PanelWidth - 1) / PanelWidth;
        var length = (long)Panels * inFeatures * PanelWidth;
        Data = precision == Precision.Fp32 ? new float[length] : [];
        BFloat16 = precision == Precision.Bf16 ? new ushort[length] : [];
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
            var start = o / PanelWidth * In * PanelWidth;
            var source = weight.Slice(r * In, In);
            if (Precision == Precision.Bf16)
            {
                var panel = BFloat16.AsSpan(start);
                for (var i = 0; i < In; i++)
                {
                    panel[(i * PanelWidth) + (o % PanelWidth)] = Precisions.ToBFloat16(source[i]);
                }
            }
            else
            {
                var panel = Data.AsSpan(start);
                for (var i = 0; i < In; i++)
                {
                    panel[(i * PanelWidth) + (o % PanelWidth)] = source[i];
                }
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

    /// <summary>How the panels are held.</summary>
    public Precision Precision { get; }

    /// <summary>The fp32 panels, each [In × PanelWidth], one after another (empty at <see cref="Precision.Bf16"/>).</summary>
    public float[] Data { get; }

    /// <summary>The bfloat16 panels, laid out as <see cref="Data"/> (empty at <see cref="Precision.Fp32"/>).</summary>
    public ushort[] BFloat16 { get; }

    /// <summary>The bias, zero-padded to Panels × PanelWidth.</summary>
    public float[] Bias { get; }
}
