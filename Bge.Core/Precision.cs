namespace Bge.Core;

/// <summary>
/// How the Linear layers' weights are held and multiplied; below fp32 the word-embedding table is held as bfloat16
/// too. Everything else (the embedding sums, LayerNorm, softmax, attention, pooling) computes in fp32.
/// </summary>
public enum Precision
{
    /// <summary>32-bit floats: the reference.</summary>
    Fp32,

    /// <summary>bfloat16 weights (half the memory and half the bytes streamed per forward pass), widened to fp32 in the GEMM; fp32 accumulation.</summary>
    Bf16,

    /// <summary>
    /// Dynamic int8 quantization: weights quantized once at load (symmetric, per output channel), activations per row
    /// at run time (across each row's range, with a zero point); int32 accumulation, then scales, bias and activation in fp32.
    /// </summary>
    Int8,
}

/// <summary>Names of <see cref="Precision"/> values as the command line and model files spell them.</summary>
public static class Precisions
{
    /// <summary>fp32, bf16 or int8.</summary>
    public static string Name(Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16 => "bf16",
        Precision.Int8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "not a precision"),
    };

    /// <summary>Parses fp32, bf16 or int8 (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Another word.</exception>
    public static Precision Parse(string name) => name?.ToLowerInvariant() switch
    {
        "fp32" or "f32" or "float32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        "int8" or "i8" or "qint8" => Precision.Int8,
        _ => throw new ArgumentException($"'{name}' is not a precision (fp32, bf16, int8)", nameof(name)),
    };

    /// <summary>
    /// The bfloat16 nearest to <paramref name="value"/> (ties to even, as PyTorch's <c>.to(torch.bfloat16)</c>);
    /// NaN stays a quiet NaN.
    /// </summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The float a bfloat16 stands for (exact).</summary>
    public static float FromBFloat16(ushort value) => BitConverter.Int32BitsToSingle(value << 16);
}
