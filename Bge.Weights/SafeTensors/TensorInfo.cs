namespace Bge.Weights.SafeTensors;

/// <summary>One tensor of a tensor file: its name, element type, shape and where its bytes lie.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its dimensions.</param>
/// <param name="Begin">First byte of its data: in a safetensors file relative to the start of the data area, in a PyTorch checkpoint from the start of the file.</param>
/// <param name="End">One past its last byte, in the same frame as <paramref name="Begin"/>.</param>
public sealed record TensorInfo(string Name, TensorDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Number of bytes of data.</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape written as [a, b].</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
