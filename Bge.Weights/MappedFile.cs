using System.IO.MemoryMappedFiles;

namespace Bge.Weights;

/// <summary>
/// A whole file mapped read-only, plus a handle for positioned reads. Views come from the mapping; copies are read
/// through the handle, so a loader that copies and repacks every tensor never holds the mapped pages as well.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private readonly byte* _base;
    private bool _disposed;

    private MappedFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _base = basePointer;
        _handle = handle;
    }

    public string Path { get; }

    public long Length { get; }

    public bool IsDisposed => _disposed;

    /// <summary>Maps a file of at least <paramref name="minimumLength"/> bytes; a shorter one is a format error saying it is <paramref name="tooShort"/>.</summary>
    public static MappedFile Open(string path, long minimumLength, string tooShort)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long length;
        // The length of what the path opens, not of the path itself: Hub-cache snapshots are symbolic links.
        using (var probe = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            length = RandomAccess.GetLength(probe);
        }

        return length >= Math.Max(minimumLength, 1)
            ? Open(path, length)
            : throw new ModelFormatException(path, $"file is {length} bytes, {tooShort}");
    }

    private static MappedFile Open(string path, long length)
    {
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
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return new MappedFile(path, length, map, view, pointer + view.PointerOffset, handle);
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

    /// <summary>Bytes of the mapping; a range outside the file is a format error (a length or offset the file declared).</summary>
    public ReadOnlySpan<byte> Bytes(long offset, long length, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
        {
            throw new ModelFormatException(Path, $"{what} (bytes {offset}..{offset + length}) runs past the end of the {Length}-byte file", offset: offset);
        }

        if (length > int.MaxValue)
        {
            throw new ModelFormatException(Path, $"{what} is {length} bytes, more than one view can hold", offset: offset);
        }

        return new ReadOnlySpan<byte>(_base + offset, (int)length);
    }

    /// <summary>Reads through the handle, not the mapping.</summary>
    public void ReadExactly(Span<byte> destination, long offset, string tensorName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(_handle, destination, offset);
            if (read <= 0)
            {
                throw new ModelFormatException(Path, "file ended while reading the tensor (was it truncated after opening?)", tensorName, offset);
            }

            destination = destination[read..];
            offset += read;
        }
    }

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
}
