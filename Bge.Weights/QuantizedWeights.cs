namespace Bge.Weights;

/// <summary>
/// How a quantized model directory marks its weights: the safetensors metadata key <see cref="MetadataKey"/> names
/// the scheme. Under <see cref="Int8"/> each Linear weight of the encoder is I8 [out × in] (values −127…127) with an
/// F32 tensor <c>{name}_scale</c> [out] beside it (value = int8 × scale); under <see cref="Bf16"/> those weights are
/// BF16. The word-embedding table may be BF16 under either (as <c>bge model quantize</c> writes it); every other
/// tensor is F32.
/// </summary>
public static class QuantizedWeights
{
    /// <summary>The metadata key naming the scheme.</summary>
    public const string MetadataKey = "bge.quantization";

    /// <summary>Symmetric int8 per output channel, one F32 scale per row.</summary>
    public const string Int8 = "int8-symmetric-per-channel";

    /// <summary>bfloat16 Linear weights.</summary>
    public const string Bf16 = "bf16";

    /// <summary>The suffix of a scale tensor's name.</summary>
    public const string ScaleSuffix = "_scale";

    /// <summary>The schemes this version reads.</summary>
    public static IReadOnlyList<string> Known { get; } = [Int8, Bf16];

    /// <summary>The name of the scale tensor of an int8 weight.</summary>
    public static string ScaleName(string weightName) => weightName + ScaleSuffix;

    /// <summary>Whether a tensor is a Linear weight of the encoder (the tensors a scheme stores in fewer bits).</summary>
    public static bool IsLinearWeight(string canonicalName, IReadOnlyList<long> shape) =>
        canonicalName.StartsWith("encoder.", StringComparison.Ordinal) && canonicalName.EndsWith(".weight", StringComparison.Ordinal) &&
        !canonicalName.Contains("LayerNorm", StringComparison.Ordinal) && shape.Count == 2;
}
