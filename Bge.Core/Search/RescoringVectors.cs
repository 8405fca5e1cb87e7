using System.IO.MemoryMappedFiles;

namespace Bge.Core.Search;

/// <summary>
/// The float32 vectors a quantized index rescores its candidates with: in memory while the index is being built, a
/// read-only memory map of the index file once it is opened, so only the pages of candidates read become resident.
/// </summary>
internal sealed unsafe class RescoringVectors : IDisposable
{
    private readonly float[]? _array;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly float* _mapped;
    private readonly int _dimension;
    private bool _disposed;

    public RescoringVectors(float[] vectors, int dimension) => (_array, _dimension) = (vectors, dimension);

    /// <summary>Maps <paramref name="count"/> × <paramref name="dimension"/> floats at <paramref name="offset"/> of <paramref name="path"/>.</summary>
    public RescoringVectors(string path, long offset, int count, int dimension)
    {
        _dimension = dimension;
        var bytes = (long)count * dimension * sizeof(float);
        if (bytes == 0)
        {
            _array = [];
            return;
        }

        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(offset, bytes, MemoryMappedFileAccess.Read);
        byte* start = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        _mapped = (float*)(start + _view.PointerOffset);
    }

    public ReadOnlySpan<float> Row(int index) =>
        _array is not null ? _array.AsSpan(index * _dimension, _dimension) : new ReadOnlySpan<float>(_mapped + ((long)index * _dimension), _dimension);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _file?.Dispose();
    }
}
