namespace Bge.Weights.SafeTensors;

/// <summary>
/// A safetensors file, memory-mapped. The header is validated completely when the file is opened, so every
/// later read stays inside the mapping. Views (<see cref="GetBytes"/>, <see cref="GetFloat32Span"/>) are served
/// zero-copy from the mapping; copies (<see cref="CopyToFloat32(string, Span{float})"/>, <see cref="ReadFloat32"/>) are read from the
/// file directly, so a loader that copies and repacks every tensor never holds the mapped pages as well.
/// </summary>
/// <remarks>
/// Format: 8-byte little-endian header length N, N bytes of JSON header, then the data area. A tensor's
/// <see cref="TensorInfo.Begin"/> is relative to the start of the data area.
/// </remarks>
public sealed class SafeTensorsFile : ITensorFile
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly MappedTensors _tensors;

    private SafeTensorsFile(MappedTensors tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <inheritdoc />
    public string FilePath => _tensors.FilePath;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, TensorInfo> Tensors => _tensors.Tensors;

    /// <summary>The header's <c>__metadata__</c> (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="ModelFormatException">The file is not a valid safetensors file; the message names the file and tensor.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        var file = MappedFile.Open(path, 8, "too short for the 8-byte header length");
        var length = file.Length;
        try
        {
            var headerLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(file.Bytes(0, 8, "header length"));
            if (headerLength > (ulong)(length - 8))
            {
                throw new ModelFormatException(path, $"header length {headerLength} runs past the end of the {length}-byte file", offset: 0);
            }

            if (headerLength > MaxHeaderLength)
            {
                throw new ModelFormatException(path, $"header length {headerLength} exceeds the {MaxHeaderLength}-byte limit", offset: 0);
            }

            var dataStart = 8 + (long)headerLength;
            var (tensors, metadata) = SafeTensorsHeader.Parse(path, file.Bytes(8, (long)headerLength, "header"), length - dataStart);
            return new SafeTensorsFile(new MappedTensors(file, dataStart, tensors), metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetBytes(string name) => _tensors.GetBytes(name);

    /// <summary>An F32 tensor's values, zero-copy from the mapping (valid until the file is disposed).</summary>
    /// <exception cref="ModelFormatException">The tensor is not F32.</exception>
    public ReadOnlySpan<float> GetFloat32Span(string name) => _tensors.GetFloat32Span(name);

    /// <inheritdoc />
    public void CopyToFloat32(string name, Span<float> destination) => _tensors.CopyToFloat32(name, destination);

    /// <inheritdoc />
    public void CopyToFloat32(string name, long firstElement, Span<float> destination) => _tensors.CopyToFloat32(name, firstElement, destination);

    /// <inheritdoc />
    public float[] ReadFloat32(string name) => _tensors.ReadFloat32(name);

    /// <inheritdoc />
    public void Dispose() => _tensors.Dispose();
}
