namespace Bge.Weights.SafeTensors;

/// <summary>Element types of a safetensors file, named as in its header.</summary>
public enum TensorDType
{
    /// <summary>32-bit IEEE float.</summary>
    F32,

    /// <summary>16-bit IEEE float.</summary>
    F16,

    /// <summary>bfloat16: the upper half of an F32.</summary>
    BF16,

    /// <summary>64-bit IEEE float.</summary>
    F64,

    /// <summary>64-bit signed integer (e.g. the <c>position_ids</c> buffer some checkpoints carry).</summary>
    I64,

    /// <summary>32-bit signed integer.</summary>
    I32,

    /// <summary>16-bit signed integer.</summary>
    I16,

    /// <summary>8-bit signed integer.</summary>
    I8,

    /// <summary>8-bit unsigned integer.</summary>
    U8,

    /// <summary>Boolean, one byte each.</summary>
    BOOL,
}

/// <summary>Sizes and names of <see cref="TensorDType"/> values.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        _ => 1,
    };

    /// <summary>Whether the type converts to float losslessly enough to be used as weights.</summary>
    public static bool IsFloatingPoint(this TensorDType dtype) =>
        dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F64;

    /// <summary>Parses a header dtype string; returns false for unknown names.</summary>
    public static bool TryParse(string? name, out TensorDType dtype) =>
        Enum.TryParse(name, ignoreCase: false, out dtype) && Enum.IsDefined(dtype) && name == dtype.ToString();
}
