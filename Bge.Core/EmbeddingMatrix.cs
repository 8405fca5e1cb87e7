namespace Bge.Core;

/// <summary>A contiguous row-major matrix of embeddings: row <c>i</c> is the vector of input <c>i</c>.</summary>
public sealed class EmbeddingMatrix
{
    /// <summary>Wraps <paramref name="data"/> as [<paramref name="rows"/> × <paramref name="columns"/>].</summary>
    /// <exception cref="ArgumentException">The data's length is not rows × columns.</exception>
    public EmbeddingMatrix(float[] data, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != rows * columns)
        {
            throw new ArgumentException($"{data.Length} values cannot form {rows} × {columns}", nameof(data));
        }

        Data = data;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The values, row-major.</summary>
    public float[] Data { get; }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns (the embedding dimension).</summary>
    public int Columns { get; }

    /// <summary>Row <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Row(int index) => Data.AsSpan(index * Columns, Columns);

    /// <summary>Row <paramref name="index"/> as a new array.</summary>
    public float[] RowArray(int index) => Row(index).ToArray();

    /// <summary>The value at (<paramref name="row"/>, <paramref name="column"/>).</summary>
    public float this[int row, int column] => Data[(row * Columns) + column];
}
