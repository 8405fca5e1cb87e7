namespace Bge.Core.Compression;

/// <summary>Embeddings in an integer form: <see cref="Rows"/> rows of <see cref="BytesPerRow"/> bytes each.</summary>
public sealed class QuantizedEmbeddings
{
    internal QuantizedEmbeddings(VectorQuantization form, byte[] data, int rows, int dimension, int bytesPerRow)
    {
        (Form, Data, Rows, Dimension, BytesPerRow) = (form, data, rows, dimension, bytesPerRow);
    }

    /// <summary>The form.</summary>
    public VectorQuantization Form { get; }

    /// <summary>The bytes, row-major; signed forms hold two's-complement bytes.</summary>
    public byte[] Data { get; }

    /// <summary>Number of embeddings.</summary>
    public int Rows { get; }

    /// <summary>Dimensions of the float embeddings they came from.</summary>
    public int Dimension { get; }

    /// <summary>Bytes per embedding: the dimension for int8/uint8, dimension / 8 rounded up for the binary forms.</summary>
    public int BytesPerRow { get; }

    /// <summary>Row <paramref name="index"/>'s bytes.</summary>
    public ReadOnlySpan<byte> Row(int index) => Data.AsSpan(index * BytesPerRow, BytesPerRow);

    /// <summary>Row <paramref name="index"/> as the integers sentence-transformers returns (signed for int8 and binary).</summary>
    public int[] RowValues(int index)
    {
        var row = Row(index);
        var signed = Form is VectorQuantization.Int8 or VectorQuantization.Binary;
        var values = new int[row.Length];
        for (var i = 0; i < row.Length; i++)
        {
            values[i] = signed ? (sbyte)row[i] : row[i];
        }

        return values;
    }
}
