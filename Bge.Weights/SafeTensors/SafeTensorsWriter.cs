using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Bge.Weights.SafeTensors;

/// <summary>One tensor to write: name, type, shape and its raw little-endian bytes.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its dimensions.</param>
/// <param name="Data">Its bytes; the length must equal the shape's element count × the dtype's size.</param>
public sealed record SafeTensorsEntry(string Name, TensorDType DType, IReadOnlyList<long> Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>An entry from F32 values, stored as <paramref name="dtype"/> (F32, F16 or BF16; rounding to nearest even).</summary>
    public static SafeTensorsEntry FromFloats(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values, TensorDType dtype = TensorDType.F32)
    {
        byte[] bytes;
        switch (dtype)
        {
            case TensorDType.F32:
                bytes = MemoryMarshal.AsBytes(values).ToArray();
                break;
            case TensorDType.F16:
                bytes = new byte[values.Length * 2];
                var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                for (var i = 0; i < values.Length; i++)
                {
                    halves[i] = (Half)values[i];
                }

                break;
            case TensorDType.BF16:
                bytes = new byte[values.Length * 2];
                for (var i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), ToBFloat16(values[i]));
                }

                break;
            default:
                throw new ArgumentException($"cannot store floats as {dtype}", nameof(dtype));
        }

        return new SafeTensorsEntry(name, dtype, shape, bytes);
    }

    /// <summary>Rounds an F32 to bfloat16 (nearest, ties to even; NaN stays NaN).</summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}

/// <summary>Writes safetensors files: deterministic (tensors in name order, header padded with spaces to 8 bytes).</summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/>, atomically (a temporary file moved into place).</summary>
    /// <exception cref="ArgumentException">A tensor's data does not match its shape, or two tensors share a name.</exception>
    public static void Write(string path, IEnumerable<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            var t = ordered[i];
            var expected = t.Shape.Aggregate(1L, (a, d) => checked(a * d)) * t.DType.SizeOf();
            if (expected != t.Data.Length)
            {
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] of {t.DType} needs {expected} bytes, data has {t.Data.Length}", nameof(tensors));
            }

            if (i > 0 && ordered[i - 1].Name == t.Name)
            {
                throw new ArgumentException($"tensor '{t.Name}' appears twice", nameof(tensors));
            }
        }

        var header = BuildHeader(ordered, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var t in ordered)
            {
                stream.Write(t.Data.Span);
            }
        });
    }

    private static byte[] BuildHeader(List<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += t.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var length = (int)buffer.Length;
        var padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }
}
