using System.Numerics.Tensors;

namespace Bge.Core.Search;

/// <summary>
/// Exact float32 search: every document's dot product with the query offered to a <see cref="TopK"/>. One scan for
/// <see cref="EmbeddingIndex"/> (rows in one array) and <see cref="QuantizedIndex.SearchExact"/> (rows read from its
/// file a block at a time), so both check their arguments and rank ties alike.
/// </summary>
internal static class ExactScan
{
    /// <summary>Checks the query against the index's dimension and returns an empty top <paramref name="topK"/>.</summary>
    public static TopK Start(ReadOnlySpan<float> query, int dimension, int topK)
    {
        if (query.Length != dimension)
        {
            throw new ArgumentException($"the query has {query.Length} dimensions, the index {dimension}", nameof(query));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        return new TopK(topK);
    }

    /// <summary>Offers consecutive rows (query.Length floats each), numbered from <paramref name="first"/>.</summary>
    // rows: [n, dimension] row-major; scores: best += (first + r, query · rows[r]).
    public static void Offer(TopK best, ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int first)
    {
        var dimension = query.Length;
        for (int r = 0, at = 0; at < rows.Length; r++, at += dimension)
        {
            best.Add(first + r, TensorPrimitives.Dot(query, rows.Slice(at, dimension)));
        }
    }

    /// <summary>The kept rows, best first, with their texts.</summary>
    public static IReadOnlyList<SearchHit> Hits(TopK best, IReadOnlyList<string> texts) =>
        [.. best.Best().Select(hit => new SearchHit(hit.Index, texts[hit.Index], hit.Score))];
}
