using System.Runtime.InteropServices;
using Bge.Weights.SafeTensors;

namespace Bge.Weights;

/// <summary>
/// The reads every <see cref="ITensorFile"/> shares once its format has placed each tensor in the file: views from
/// the mapping, and copies converted to F32 (the one place F16, BF16 and F64 become F32).
/// </summary>
internal sealed class MappedTensors(MappedFile file, long dataStart, IReadOnlyDictionary<string, TensorInfo> tensors) : IDisposable
{
    /// <summary>Every tensor, its <see cref="TensorInfo.Begin"/> relative to <c>dataStart</c>.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; } = tensors;

    public string FilePath => file.Path;

    public TensorInfo Get(string name)
    {
        ObjectDisposedException.ThrowIf(file.IsDisposed, this);
        return Tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{file.Path}: no tensor named '{name}'");
    }

    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = Get(name);
        return file.Bytes(dataStart + info.Begin, info.ByteLength, $"tensor '{name}'");
    }

    public ReadOnlySpan<float> GetFloat32Span(string name)
    {
        var info = Get(name);
        if (info.DType != TensorDType.F32)
        {
            throw new ModelFormatException(file.Path, $"is {info.DType}, not F32", name);
        }

        return MemoryMarshal.Cast<byte, float>(GetBytes(name));
    }

    public void CopyToFloat32(string name, Span<float> destination)
    {
        var info = Get(name);
        if (destination.Length != info.ElementCount)
        {
            throw new ArgumentException($"tensor '{name}' has {info.ElementCount} elements, destination {destination.Length}", nameof(destination));
        }

        CopyToFloat32(name, 0, destination);
    }

    public void CopyToFloat32(string name, long firstElement, Span<float> destination)
    {
        var info = Get(name);
        if (firstElement < 0 || firstElement > info.ElementCount - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"elements {firstElement}..{firstElement + destination.Length} of tensor '{name}', which has {info.ElementCount}");
        }

        if (!info.DType.IsFloatingPoint())
        {
            throw new ModelFormatException(file.Path, $"is {info.DType}, not a floating-point type", name);
        }

        var size = info.DType.SizeOf();
        var offset = dataStart + info.Begin + (firstElement * size);
        if (info.DType == TensorDType.F32)
        {
            file.ReadExactly(MemoryMarshal.AsBytes(destination), offset, name);
            return;
        }

        var length = checked(destination.Length * size);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var bytes = buffer.AsSpan(0, length);
            file.ReadExactly(bytes, offset, name);
            Convert(info.DType, bytes, destination);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public float[] ReadFloat32(string name)
    {
        var values = new float[Get(name).ElementCount];
        CopyToFloat32(name, values);
        return values;
    }

    public void Dispose() => file.Dispose();

    private static void Convert(TensorDType dtype, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (dtype)
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
            default:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < doubles.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
        }
    }
}
