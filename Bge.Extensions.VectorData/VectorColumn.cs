using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Bge.Core.Compression;

namespace Bge.Extensions.VectorData;

/// <summary>
/// One vector property's vectors for every record of a collection: a row-major float32 matrix (row i for the record in
/// slot i), each row's L2 norm for cosine scoring, and whether the record has that vector at all (a null vector is
/// stored as absent and never found by a search). A quantized column (<see cref="Microsoft.Extensions.VectorData.IndexKind.QuantizedFlat"/>)
/// also keeps each row's sign bits, packed as sentence-transformers packs binary embeddings and padded to whole 64-bit
/// words, which a search compares by Hamming distance before rescoring the closest rows.
/// </summary>
internal sealed class VectorColumn(int dimension, bool signBits)
{
    private float[] _rows = [];
    private float[] _norms = [];
    private bool[] _present = [];
    private ulong[] _signs = [];

    public int Dimension { get; } = dimension;

    /// <summary>Whether the column keeps sign bits.</summary>
    public bool SignBits { get; } = signBits;

    /// <summary>64-bit words of sign bits per row (zero without them).</summary>
    public int Words { get; } = signBits ? (dimension + 63) / 64 : 0;

    public ReadOnlySpan<ulong> Signs(int slot) => _signs.AsSpan(slot * Words, Words);

    /// <summary><paramref name="vector"/>'s sign bits as the column keeps them.</summary>
    public ulong[] SignsOf(ReadOnlySpan<float> vector)
    {
        var words = new ulong[Words];
        EmbeddingQuantizer.PackSigns(vector, MemoryMarshal.AsBytes(words.AsSpan())[..((Dimension + 7) / 8)], signed: false);
        return words;
    }

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
        Array.Resize(ref _signs, capacity * Words);
    }

    /// <summary>Writes slot <paramref name="slot"/>'s vector, or marks it absent when <paramref name="vector"/> is null.</summary>
    public void Set(int slot, float[]? vector)
    {
        _present[slot] = vector is not null;
        if (vector is null)
        {
            Array.Clear(_rows, slot * Dimension, Dimension);
            Array.Clear(_signs, slot * Words, Words);
            _norms[slot] = 0;
            return;
        }

        vector.CopyTo(_rows.AsSpan(slot * Dimension, Dimension));
        _norms[slot] = TensorPrimitives.Norm(vector);
        if (SignBits)
        {
            SignsOf(vector).CopyTo(_signs.AsSpan(slot * Words, Words));
        }
    }

    /// <summary>Moves the row in <paramref name="from"/> to <paramref name="to"/>, as a delete fills its gap with the last row.</summary>
    public void Move(int from, int to)
    {
        _rows.AsSpan(from * Dimension, Dimension).CopyTo(_rows.AsSpan(to * Dimension, Dimension));
        _signs.AsSpan(from * Words, Words).CopyTo(_signs.AsSpan(to * Words, Words));
        _norms[to] = _norms[from];
        _present[to] = _present[from];
    }
}
