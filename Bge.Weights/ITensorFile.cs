using Bge.Weights.SafeTensors;

namespace Bge.Weights;

/// <summary>
/// A file of named tensors (safetensors, a PyTorch checkpoint), validated completely when it was opened, so every
/// later read stays inside the file. Views are zero-copy from a memory mapping; copies are read from the file.
/// </summary>
public interface ITensorFile : IDisposable
{
    /// <summary>The file's path.</summary>
    string FilePath { get; }

    /// <summary>
    /// Every tensor in the file, by name. <see cref="TensorInfo.Begin"/> and <see cref="TensorInfo.End"/> are byte
    /// positions in the format's own frame (see the implementing type); their difference is always the data's length.
    /// </summary>
    IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>String metadata the file carries (safetensors' <c>__metadata__</c>); empty if the format has none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The raw little-endian bytes of a tensor in row-major order, zero-copy (valid until the file is disposed).</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    ReadOnlySpan<byte> GetBytes(string name);

    /// <summary>Copies a floating-point tensor (F32, F16, BF16 or F64) into <paramref name="destination"/> as F32.</summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="ArgumentException">The destination's length is not the tensor's element count.</exception>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    void CopyToFloat32(string name, Span<float> destination);

    /// <summary>
    /// Copies <paramref name="destination"/>'s length of a floating-point tensor's values, from element
    /// <paramref name="firstElement"/> on (in row-major order), as F32: part of a large table without a copy of the whole.
    /// </summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range runs past the tensor's end.</exception>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    void CopyToFloat32(string name, long firstElement, Span<float> destination);

    /// <summary>A floating-point tensor's values as a new F32 array.</summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    float[] ReadFloat32(string name);
}
