using System.Buffers.Binary;

namespace Bge.Weights.Torch;

/// <summary>
/// The zip64 extended-information extra field (tag 1) of a central directory entry: the 64-bit values of those 32-bit
/// fields that hold 0xFFFFFFFF, in the order uncompressed size, compressed size, local header offset.
/// </summary>
internal static class Zip64
{
    private const ushort Tag = 1;
    private const uint Escape = uint.MaxValue;

    public static void Apply(string path, string name, ReadOnlySpan<byte> extra, ref long length, ref long compressed, ref long local, long where)
    {
        var needed = (length == Escape ? 1 : 0) + (compressed == Escape ? 1 : 0) + (local == Escape ? 1 : 0);
        var field = Find(path, name, extra, where);
        if (needed == 0)
        {
            return;
        }

        if (field.Length < needed * 8)
        {
            throw new ModelFormatException(path, $"zip record '{name}' needs {needed} zip64 values but its extra field holds {field.Length / 8}", offset: where);
        }

        var at = 0;
        length = Take(ref at, field, length);
        compressed = Take(ref at, field, compressed);
        local = Take(ref at, field, local);
        if (length < 0 || compressed < 0 || local < 0)
        {
            throw new ModelFormatException(path, $"zip record '{name}' has a zip64 size or offset beyond 2^63", offset: where);
        }
    }

    private static long Take(ref int at, ReadOnlySpan<byte> field, long value)
    {
        if (value != Escape)
        {
            return value;
        }

        value = BinaryPrimitives.ReadInt64LittleEndian(field[at..]);
        at += 8;
        return value;
    }

    private static ReadOnlySpan<byte> Find(string path, string name, ReadOnlySpan<byte> extra, long where)
    {
        while (extra.Length > 0)
        {
            if (extra.Length < 4)
            {
                throw new ModelFormatException(path, $"zip record '{name}' has a truncated extra field", offset: where);
            }

            var tag = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4)
            {
                throw new ModelFormatException(path, $"zip record '{name}' has an extra field running past its end", offset: where);
            }

            if (tag == Tag)
            {
                return extra.Slice(4, size);
            }

            extra = extra[(4 + size)..];
        }

        return [];
    }
}
