using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Bge.Weights.SafeTensors;

/// <summary>
/// A safetensors file, memory-mapped. The header is validated completely when the file is opened, so every
/// later read stays inside the mapping. Views (<see cref="GetBytes"/>, <see cref="GetFloat32Span"/>) are served
/// zero-copy from the mapping; copies (<see cref="CopyToFloat32(string, Span{float})"/>, <see cref="ReadFloat32"/>) are read from the
/// file directly, so a loader that copies and repacks every tensor never holds the mapped pages as well.
/// </summary>
/// <remarks>Format: 8-byte little-endian header length N, N bytes of JSON header, then the data area.</remarks>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private readonly byte* _base;
    private readonly long _dataStart;
    private readonly long _length;
    private bool _disposed;

    private SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, long length)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePointer;
        _length = length;
        var headerLength = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePointer, 8));
        _dataStart = 8 + headerLength;
        (Tensors, Metadata) = SafeTensorsHeader.Parse(path, new ReadOnlySpan<byte>(basePointer + 8, (int)headerLength), length - _dataStart);
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>Every tensor in the file, by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="ModelFormatException">The file is not a valid safetensors file; the message names the file and tensor.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // The length of what the path opens, not of the path itself: Hub-cache snapshots are symbolic links.
        long length;
        using (var probe = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            length = RandomAccess.GetLength(probe);
        }

        if (length < 8)
        {
            throw new ModelFormatException(path, $"file is {length} bytes, too short for the 8-byte header length");
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            acquired = true;
            pointer += view.PointerOffset;
            var headerLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer, 8));
            if (headerLength > (ulong)(length - 8))
            {
                throw new ModelFormatException(path, $"header length {headerLength} runs past the end of the {length}-byte file", offset: 0);
            }

            if (headerLength > MaxHeaderLength)
            {
                throw new ModelFormatException(path, $"header length {headerLength} exceeds the {MaxHeaderLength}-byte limit", offset: 0);
            }

            return new SafeTensorsFile(path, map, view, pointer, length);
        }
        catch
        {
            if (acquired)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view?.Dispose();
            map?.Dispose();
            throw;
        }
    }

    /// <summary>The raw bytes of a tensor, straight from the mapping (valid until the file is disposed).</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = Get(name);
        return new ReadOnlySpan<byte>(_base + _dataStart + info.Begin, checked((int)info.ByteLength));
    }

    /// <summary>An F32 tensor's values, zero-copy from the mapping (valid until the file is disposed).</summary>
    /// <exception cref="ModelFormatException">The tensor is not F32.</exception>
    public ReadOnlySpan<float> GetFloat32Span(string name)
    {
        var info = Get(name);
        if (info.DType != TensorDType.F32)
        {
            throw new ModelFormatException(FilePath, $"is {info.DType}, not F32", name);
        }

        return MemoryMarshal.Cast<byte, float>(GetBytes(name));
    }

    /// <summary>Copies a floating-point tensor (F32, F16, BF16 or F64) into <paramref name="destination"/> as F32.</summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="ArgumentException">The destination's length is not the tensor's element count.</exception>
    public void CopyToFloat32(string name, Span<float> destination)
    {
        var info = Get(name);
        if (destination.Length != info.ElementCount)
        {
            throw new ArgumentException($"tensor '{name}' has {info.ElementCount} elements, destination {destination.Length}", nameof(destination));
        }

        CopyToFloat32(name, 0, destination);
    }

    /// <summary>
    /// Copies <paramref name="destination"/>'s length of a floating-point tensor's values, from element
    /// <paramref name="firstElement"/> on (in storage order), as F32: part of a large table without a copy of the whole.
    /// </summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range runs past the tensor's end.</exception>
    public void CopyToFloat32(string name, long firstElement, Span<float> destination)
    {
        var info = Get(name);
        if (firstElement < 0 || firstElement > info.ElementCount - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"elements {firstElement}..{firstElement + destination.Length} of tensor '{name}', which has {info.ElementCount}");
        }

        if (!info.DType.IsFloatingPoint())
        {
            throw new ModelFormatException(FilePath, $"is {info.DType}, not a floating-point type", name);
        }

        var size = info.DType.SizeOf();
        var offset = _dataStart + info.Begin + (firstElement * size);
        if (info.DType == TensorDType.F32)
        {
            ReadExactly(MemoryMarshal.AsBytes(destination), offset, name);
            return;
        }

        var length = checked(destination.Length * size);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = buffer.AsSpan(0, length);
            ReadExactly(bytes, offset, name);
            Convert(info, bytes, destination);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ReadExactly(Span<byte> destination, long offset, string name)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_handle, destination, offset);
            if (read <= 0)
            {
                throw new ModelFormatException(FilePath, "file ended while reading the tensor (was it truncated after opening?)", name, offset);
            }

            destination = destination[read..];
            offset += read;
        }
    }

    private void Convert(TensorInfo info, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        var name = info.Name;
        switch (info.DType)
        {
            case TensorDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (var i = 0; i < halves.Length; i++)
                {
                    destination[i] = (float)halves[i];
                }

                break;
            case TensorDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < raw.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                }

                break;
            case TensorDType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
            default:
                throw new ModelFormatException(FilePath, $"is {info.DType}, not a floating-point type", name);
        }
    }

    /// <summary>A floating-point tensor's values as a new F32 array.</summary>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    public float[] ReadFloat32(string name)
    {
        var values = new float[Get(name).ElementCount];
        CopyToFloat32(name, values);
        return values;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _handle.Dispose();
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private TensorInfo Get(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");
    }
}
