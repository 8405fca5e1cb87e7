namespace Bge.Core.Kernels;

/// <summary>
/// A Linear layer's weight, packed once at load for <see cref="Gemm"/> at one <see cref="SimdWidth"/>. PyTorch stores
/// it [out × in]; the kernel wants, for each group of <see cref="PanelWidth"/> outputs (two vectors of the width),
/// a contiguous [in × PanelWidth] panel, so its inner loop reads memory strictly in order. The last panel and the
/// bias are zero-padded to a full width. At <see cref="Precision.Bf16"/> the panels hold bfloat16 (rounded to nearest
/// even) in <see cref="BFloat16"/> instead of <see cref="Data"/>; the bias stays fp32. At <see cref="Precision.Int8"/>
/// each output channel is quantized symmetrically (scale = max |w| / 127, so every value lies in −127…127) and the
/// panels, in <see cref="Int8"/>, hold groups of four consecutive inputs per column (the operand of a four-way
/// byte dot product: VPDPBUSD, SDOT), <see cref="Depth"/> inputs deep (In rounded up to four, zero-padded).
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
        PanelWidth = precision == Precision.Int8 ? Gemm.Int8PanelWidth(simd) : Gemm.PanelWidth(simd);
        Panels = (outFeatures + PanelWidth - 1) / PanelWidth;
        Depth = precision == Precision.Int8 ? (inFeatures + 3) / 4 * 4 : inFeatures;
        var length = (long)Panels * Depth * PanelWidth;
        Data = precision == Precision.Fp32 ? new float[length] : [];
        BFloat16 = precision == Precision.Bf16 ? new ushort[length] : [];
        Int8 = precision == Precision.Int8 ? new sbyte[length] : [];
        Scales = precision == Precision.Int8 ? new float[Panels * PanelWidth] : [];
        ColumnSums = precision == Precision.Int8 ? new int[Panels * PanelWidth] : [];
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

        if (Precision == Precision.Int8)
        {
            PackQuantized(firstOut, weight, bias);
            return;
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

    /// <summary>
    /// Packs rows <paramref name="firstOut"/>… already quantized: int8 values (−127…127) of a [rows × In] weight, one
    /// scale per row (value = int8 × scale) and the biases. Only at <see cref="Precision.Int8"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not describe whole rows, a value is −128, or a scale is negative or not finite.</exception>
    public void PackInt8(int firstOut, ReadOnlySpan<sbyte> weight, ReadOnlySpan<float> scales, ReadOnlySpan<float> bias)
    {
        if (Precision != Precision.Int8)
        {
            throw new InvalidOperationException($"an int8 weight cannot be packed into a {Precisions.Name(Precision)} weight");
        }

        var rows = bias.Length;
        if (weight.Length != rows * In || scales.Length != rows || firstOut < 0 || firstOut + rows > Out)
        {
            throw new ArgumentException($"{weight.Length} weights, {scales.Length} scales and {bias.Length} biases are not whole rows {firstOut}.. of a {Out} × {In} weight", nameof(weight));
        }

        if (weight.IndexOf(sbyte.MinValue) is var at and >= 0)
        {
            throw new ArgumentException($"int8 weight value −128 at row {firstOut + (at / In)}, input {at % In}: symmetric int8 weights lie in −127…127", nameof(weight));
        }

        for (var r = 0; r < rows; r++)
        {
            if (!float.IsFinite(scales[r]) || scales[r] < 0)
            {
                throw new ArgumentException($"int8 scale {scales[r]} of row {firstOut + r} is not a finite non-negative number", nameof(scales));
            }
        }

        bias.CopyTo(Bias.AsSpan(firstOut));
        scales.CopyTo(Scales.AsSpan(firstOut));
        for (var r = 0; r < rows; r++)
        {
            var o = firstOut + r;
            var panel = Int8.AsSpan(o / PanelWidth * Depth * PanelWidth);
            var source = weight.Slice(r * In, In);
            var sum = 0;
            for (var i = 0; i < In; i++)
            {
                // Group i/4, column o, byte i%4: four consecutive inputs of one column side by side.
                panel[((((i / 4) * PanelWidth) + (o % PanelWidth)) * 4) + (i % 4)] = source[i];
                sum += source[i];
            }

            ColumnSums[o] = sum;
        }
    }

    // Symmetric per-channel quantization of fp32 rows: scale = max |w| / 127, q = round(w / scale).
    private void PackQuantized(int firstOut, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias)
    {
        var rows = bias.Length;
        var quantized = new sbyte[weight.Length];
        var scales = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            scales[r] = QuantizeChannel(weight.Slice(r * In, In), quantized.AsSpan(r * In, In));
        }

        PackInt8(firstOut, quantized, scales, bias);
    }

    /// <summary>
    /// Quantizes one output channel symmetrically: returns the scale (max |w| / 127; 0 for an all-zero row) and writes
    /// round(w / scale), ties to even, into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A weight is not finite, or the lengths differ.</exception>
    public static float QuantizeChannel(ReadOnlySpan<float> weight, Span<sbyte> destination)
    {
        if (destination.Length != weight.Length)
        {
            throw new ArgumentException($"{weight.Length} weights into {destination.Length} int8 values", nameof(destination));
        }

        var max = 0f;
        foreach (var w in weight)
        {
            if (!float.IsFinite(w))
            {
                throw new ArgumentException($"weight {w} is not finite and cannot be quantized", nameof(weight));
            }

            max = Math.Max(max, Math.Abs(w));
        }

        if (max == 0)
        {
            destination.Clear();
            return 0;
        }

        var scale = max / 127f;
        for (var i = 0; i < weight.Length; i++)
        {
            destination[i] = (sbyte)Math.Clamp(MathF.Round(weight[i] / scale), -127, 127);
        }

        return scale;
    }

    /// <summary>Output features (N).</summary>
    public int Out { get; }

    /// <summary>Input features (K).</summary>
    public int In { get; }

    /// <summary>Rows of each panel: <see cref="In"/>, rounded up to a multiple of four at <see cref="Precision.Int8"/>.</summary>
    public int Depth { get; }

    /// <summary>The width the GEMM runs at for this weight.</summary>
    public SimdWidth Simd { get; }

    /// <summary>Output columns per panel: two vectors of <see cref="Simd"/> (2 floats for the scalar path; see <see cref="Gemm.Int8PanelWidth"/> at int8).</summary>
    public int PanelWidth { get; }

    /// <summary>Number of panels.</summary>
    public int Panels { get; }

    /// <summary>How the panels are held.</summary>
    public Precision Precision { get; }

    /// <summary>The fp32 panels, each [In × PanelWidth], one after another (empty at other precisions).</summary>
    public float[] Data { get; }

    /// <summary>The bfloat16 panels, laid out as <see cref="Data"/> (empty at other precisions).</summary>
    public ushort[] BFloat16 { get; }

    /// <summary>The int8 panels, each [Depth/4 × PanelWidth × 4] (empty at other precisions).</summary>
    public sbyte[] Int8 { get; }

    /// <summary>Each output channel's int8 scale, zero-padded to Panels × PanelWidth (empty unless int8).</summary>
    public float[] Scales { get; }

    /// <summary>Each output channel's sum of int8 values, zero-padded (empty unless int8): the correction for unsigned activations.</summary>
    public int[] ColumnSums { get; }

    /// <summary>The bias, zero-padded to Panels × PanelWidth.</summary>
    public float[] Bias { get; }
}
