using System.Numerics.Tensors;

namespace Bge.Extensions.VectorData;

/// <summary>
/// One vector property's vectors for every record of a collection: a row-major float32 matrix (row i for the record in
/// slot i), each row's L2 norm for cosine scoring, and whether the record has that vector at all (a null vector is
/// stored as absent and never found by a search).
/// </summary>
internal sealed class VectorColumn(int dimension)
{
    private float[] _rows = [];
    private float[] _norms = [];
    private bool[] _present = [];

    public int Dimension { get; } = dimension;

    public bool Has(int slot) => _present[slot];

    public ReadOnlySpan<float> Row(int slot) => _rows.AsSpan(slot * Dimension, Dimension);

    public float Norm(int slot) => _norms[slot];

    /// <summary>Makes room for <paramref name="slots"/> rows, doubling so that appends cost amortized O(dimension).</summary>
    public void Reserve(int slots)
    {
        if (slots <= _present.Length)
        {
            return;
        }

        var capacity = Math.Max(slots, Math.Min(Array.MaxLength / Math.Max(1, Dimension), _present.Length * 2));
        Array.Resize(ref _rows, capacity * Dimension);
        Array.Resize(ref _norms, capacity);
        Array.Resize(ref _present, capacity);
    }

    /// <summary>Writes slot <paramref name="slot"/>'s vector, or marks it absent when <paramref name="vector"/> is null.</summary>
    public void Set(int slot, float[]? vector)
    {
        _present[slot] = vector is not null;
        if (vector is null)
        {
            Array.Clear(_rows, slot * Dimension, Dimension);
            _norms[slot] = 0;
            return;
        }

        vector.CopyTo(_rows.AsSpan(slot * Dimension, Dimension));
        _norms[slot] = TensorPrimitives.Norm(vector);
    }

    /// <summary>Moves the row in <paramref name="from"/> to <paramref name="to"/>, as a delete fills its gap with the last row.</summary>
    public void Move(int from, int to)
    {
        _rows.AsSpan(from * Dimension, Dimension).CopyTo(_rows.AsSpan(to * Dimension, Dimension));
        _norms[to] = _norms[from];
        _present[to] = _present[from];
    }
}
