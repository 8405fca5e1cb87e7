using System.Numerics.Tensors;

namespace Bge.Core.Compression;

/// <summary>
/// Matryoshka truncation: the first dimensions of each embedding, re-normalized. Models trained with a Matryoshka loss
/// keep most of their quality at a fraction of the width; others lose more, which the README's retention table shows.
/// </summary>
public static class Matryoshka
{
    /// <summary>The first <paramref name="dimensions"/> columns of each row, L2-normalized again when <paramref name="normalize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimensions"/> is below 1 or above the embeddings' width.</exception>
    public static EmbeddingMatrix Truncate(EmbeddingMatrix embeddings, int dimensions, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        Check(dimensions, embeddings.Columns);
        var data = new float[embeddings.Rows * dimensions];
        for (var r = 0; r < embeddings.Rows; r++)
        {
            Cut(embeddings.Row(r), data.AsSpan(r * dimensions, dimensions), normalize);
        }

        return new EmbeddingMatrix(data, embeddings.Rows, dimensions);
    }

    /// <summary>The first <c>destination.Length</c> values of <paramref name="vector"/> into <paramref name="destination"/>, L2-normalized when <paramref name="normalize"/> (a zero vector stays zero).</summary>
    internal static void Cut(ReadOnlySpan<float> vector, Span<float> destination, bool normalize = true)
    {
        vector[..destination.Length].CopyTo(destination);
        if (normalize)
        {
            var norm = TensorPrimitives.Norm(destination);
            if (norm > 0)
            {
                TensorPrimitives.Divide(destination, norm, destination);
            }
        }
    }

    /// <summary>Throws unless 1 ≤ <paramref name="dimensions"/> ≤ <paramref name="available"/>.</summary>
    internal static void Check(int dimensions, int available)
    {
        if (dimensions < 1 || dimensions > available)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, $"dimensions must be 1 to {available}, the model's embedding size");
        }
    }
}
