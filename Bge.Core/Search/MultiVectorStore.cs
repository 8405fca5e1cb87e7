using System.Numerics.Tensors;

namespace Bge.Core.Search;

/// <summary>The ColBERT vectors of an index's documents in one <see cref="MultiVectorStorage"/> form, scored against float queries.</summary>
internal sealed class MultiVectorStore(MultiVectorStorage storage)
{
    private readonly List<float[]> _float32 = [];
    private readonly List<Half[]> _float16 = [];
    private readonly List<(sbyte[] Values, float[] Scales)> _int8 = [];
    private readonly List<int> _counts = [];

    public MultiVectorStorage Storage { get; } = storage;

    public int Dimension { get; private set; }

    /// <summary>Bytes the vectors take as stored.</summary>
    public long Bytes { get; private set; }

    /// <summary>Values of the largest document, the scratch <see cref="MaxSim"/> needs.</summary>
    public int LargestDocument { get; private set; }

    public void Add(MultiVector vectors)
    {
        if (_counts.Count > 0 && vectors.Dimension != Dimension)
        {
            throw new ArgumentException($"ColBERT vectors of width {vectors.Dimension} added to an index of width {Dimension}", nameof(vectors));
        }

        Dimension = vectors.Dimension;
        _counts.Add(vectors.Count);
        LargestDocument = Math.Max(LargestDocument, vectors.Data.Length);
        switch (Storage)
        {
            case MultiVectorStorage.Float16:
                var half = new Half[vectors.Data.Length];
                TensorPrimitives.ConvertToHalf(vectors.Data, half);
                _float16.Add(half);
                Bytes += half.Length * 2L;
                break;
            case MultiVectorStorage.Int8:
                _int8.Add(Quantize(vectors));
                Bytes += vectors.Data.Length + (vectors.Count * 4L);
                break;
            default:
                _float32.Add(vectors.Data);
                Bytes += vectors.Data.Length * 4L;
                break;
        }
    }

    /// <summary>The query's MaxSim with document <paramref name="document"/>, its vectors widened into <paramref name="scratch"/> first.</summary>
    public float MaxSim(MultiVector query, int document, float[] scratch)
    {
        var count = _counts[document];
        var values = count * Dimension;
        ReadOnlySpan<float> passage;
        switch (Storage)
        {
            case MultiVectorStorage.Float16:
                TensorPrimitives.ConvertToSingle(_float16[document], scratch.AsSpan(0, values));
                passage = scratch.AsSpan(0, values);
                break;
            case MultiVectorStorage.Int8:
                var (codes, scales) = _int8[document];
                for (var r = 0; r < count; r++)
                {
                    var row = scratch.AsSpan(r * Dimension, Dimension);
                    TensorPrimitives.ConvertChecked<sbyte, float>(codes.AsSpan(r * Dimension, Dimension), row);
                    TensorPrimitives.Multiply(row, scales[r], row);
                }

                passage = scratch.AsSpan(0, values);
                break;
            default:
                passage = _float32[document];
                break;
        }

        return MultiVector.MaxSim(query.Data.AsSpan(0, query.Count * query.Dimension), query.Count, passage, count, Dimension);
    }

    // Symmetric per vector (SymmetricInt8), one scale each.
    private static (sbyte[] Values, float[] Scales) Quantize(MultiVector vectors)
    {
        var codes = new sbyte[vectors.Data.Length];
        var scales = new float[vectors.Count];
        for (var r = 0; r < vectors.Count; r++)
        {
            scales[r] = Compression.SymmetricInt8.Quantize(vectors.Row(r), codes.AsSpan(r * vectors.Dimension, vectors.Dimension));
        }

        return (codes, scales);
    }
}
