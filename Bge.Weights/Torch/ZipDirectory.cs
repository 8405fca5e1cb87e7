using System.Buffers.Binary;
using System.Text;

namespace Bge.Weights.Torch;

/// <summary>One stored record of a zip archive: where its bytes lie in the file.</summary>
/// <param name="Name">The record's name (forward slashes).</param>
/// <param name="DataOffset">First byte of its data, from the start of the file.</param>
/// <param name="Length">Its length in bytes.</param>
internal sealed record ZipEntry(string Name, long DataOffset, long Length);

/// <summary>
/// The central directory of a zip archive, as PyTorch writes it: every record stored (method 0), zip64 where sizes or
/// offsets outgrow 32 bits. Only the directory is trusted, never a local header's sizes (a data descriptor may follow
/// the data), but each local header is read to find where the data begins, and that range is checked at open.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50;
    private const uint LocalSignature = 0x04034b50;
    private const int EndLength = 22;
    private const int CentralLength = 46;
    private const int LocalLength = 30;

    /// <summary>Whether the file begins as a zip archive does (a local header).</summary>
    public static bool LooksLikeZip(ReadOnlySpan<byte> start) =>
        start.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(start) == LocalSignature;

    public static IReadOnlyDictionary<string, ZipEntry> Read(MappedFile file)
    {
        var path = file.Path;
        var end = FindEnd(file);
        var eocd = file.Bytes(end, EndLength, "end of central directory");
        long count = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(eocd[4..]) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(eocd[6..]) != 0)
        {
            throw new ModelFormatException(path, "zip archive spans several disks", offset: end);
        }

        var directoryEnd = end;
        if (end >= 20 && BinaryPrimitives.ReadUInt32LittleEndian(file.Bytes(end - 20, 4, "zip64 locator")) == Zip64LocatorSignature)
        {
            var locator = file.Bytes(end - 20, 20, "zip64 locator");
            var recordOffset = BinaryPrimitives.ReadInt64LittleEndian(locator[8..]);
            var record = file.Bytes(recordOffset, 56, "zip64 end of central directory");
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature || recordOffset > end - 20 - 56)
            {
                throw new ModelFormatException(path, "zip64 locator does not point at a zip64 end of central directory", offset: end - 20);
            }

            count = BinaryPrimitives.ReadInt64LittleEndian(record[32..]);
            size = BinaryPrimitives.ReadInt64LittleEndian(record[40..]);
            offset = BinaryPrimitives.ReadInt64LittleEndian(record[48..]);
            directoryEnd = recordOffset;
        }

        if (offset < 0 || size < 0 || offset > directoryEnd || size > directoryEnd - offset)
        {
            throw new ModelFormatException(path, $"central directory (bytes {offset}..{offset + size}) lies outside the archive", offset: end);
        }

        // Each directory entry takes at least its fixed part: a count beyond that is a lie, checked before allocating.
        if (count < 0 || count > size / CentralLength)
        {
            throw new ModelFormatException(path, $"central directory of {size} bytes cannot hold {count} entries", offset: end);
        }

        var directory = file.Bytes(offset, size, "central directory");
        var entries = new Dictionary<string, ZipEntry>((int)count, StringComparer.Ordinal);
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            var entry = ReadEntry(file, directory, ref at, offset, dataLimit: offset);
            if (!entries.TryAdd(entry.Name, entry))
            {
                throw new ModelFormatException(path, $"zip record '{entry.Name}' appears twice", offset: offset + at);
            }
        }

        return entries;
    }

    /// <summary>The end record, searched from the end: its comment must end exactly where the file does.</summary>
    private static long FindEnd(MappedFile file)
    {
        var window = Math.Min(file.Length, EndLength + ushort.MaxValue);
        var tail = file.Bytes(file.Length - window, window, "archive tail");
        for (var i = tail.Length - EndLength; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail[i..]) == EndSignature
                && i + EndLength + BinaryPrimitives.ReadUInt16LittleEndian(tail[(i + 20)..]) == tail.Length)
            {
                return file.Length - window + i;
            }
        }

        throw new ModelFormatException(file.Path, "no zip end of central directory record: the file is not a zip archive, or it was truncated");
    }

    private static ZipEntry ReadEntry(MappedFile file, ReadOnlySpan<byte> directory, ref int at, long directoryOffset, long dataLimit)
    {
        var path = file.Path;
        var where = directoryOffset + at;
        if (directory.Length - at < CentralLength || BinaryPrimitives.ReadUInt32LittleEndian(directory[at..]) != CentralSignature)
        {
            throw new ModelFormatException(path, "central directory entry is truncated or has a bad signature", offset: where);
        }

        var header = directory.Slice(at, CentralLength);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        var method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        long compressed = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        long length = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
        int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
        long local = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
        if (directory.Length - at - CentralLength < nameLength + extraLength + commentLength)
        {
            throw new ModelFormatException(path, "central directory entry runs past the directory's end", offset: where);
        }

        var nameBytes = directory.Slice(at + CentralLength, nameLength);
        var name = ReadName(path, nameBytes, where);
        Zip64.Apply(path, name, directory.Slice(at + CentralLength + nameLength, extraLength), ref length, ref compressed, ref local, where);
        at += CentralLength + nameLength + extraLength + commentLength;

        if ((flags & 1) != 0)
        {
            throw new ModelFormatException(path, $"zip record '{name}' is encrypted", offset: where);
        }

        if (method != 0)
        {
            var kind = method == 8 ? "deflate" : "method " + method;
            throw new ModelFormatException(path, $"zip record '{name}' is compressed ({kind}); only stored records are read, as torch.save writes them", offset: where);
        }

        if (compressed != length)
        {
            throw new ModelFormatException(path, $"zip record '{name}' is stored but its sizes differ ({compressed} and {length})", offset: where);
        }

        var localHeader = file.Bytes(local, LocalLength, $"local header of '{name}'");
        if (BinaryPrimitives.ReadUInt32LittleEndian(localHeader) != LocalSignature)
        {
            throw new ModelFormatException(path, $"zip record '{name}' has no local header at byte {local}", offset: local);
        }

        int localName = BinaryPrimitives.ReadUInt16LittleEndian(localHeader[26..]);
        int localExtra = BinaryPrimitives.ReadUInt16LittleEndian(localHeader[28..]);
        if (!file.Bytes(local + LocalLength, localName, $"local header of '{name}'").SequenceEqual(nameBytes))
        {
            throw new ModelFormatException(path, $"zip record '{name}': its local header names another record", offset: local);
        }

        var data = local + LocalLength + localName + localExtra;
        if (length < 0 || data > dataLimit || length > dataLimit - data)
        {
            throw new ModelFormatException(path, $"zip record '{name}' (bytes {data}..{data + length}) runs into the central directory or past the file's end", offset: local);
        }

        return new ZipEntry(name, data, length);
    }

    private static string ReadName(string path, ReadOnlySpan<byte> bytes, long where)
    {
        string name;
        try
        {
            name = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ModelFormatException(path, "zip record name is not valid UTF-8", offset: where, innerException: e);
        }

        // Nothing here extracts to disk, but a name that could escape a folder has no place in a checkpoint.
        if (name.Length == 0 || name[0] is '/' or '\\' || name.Contains('\\') || name.Contains(':') || name.Contains('\0')
            || name.Split('/').Any(part => part == ".."))
        {
            throw new ModelFormatException(path, $"zip record name '{name}' is absolute or leaves its folder", offset: where);
        }

        return name;
    }
}
