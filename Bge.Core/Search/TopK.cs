namespace Bge.Core.Search;

/// <summary>The k highest-scoring of a range of items, best first, ties to the earlier item.</summary>
internal static class TopK
{
    public static (int Index, float Score)[] Select(int count, int k, Func<int, float> score) => Select(Enumerable.Range(0, count), k, score);

    public static (int Index, float Score)[] Select(IEnumerable<int> items, int k, Func<int, float> score)
    {
        // A min-heap of the best k so far: its root is the weakest kept.
        var best = new PriorityQueue<int, (float Score, int Index)>(Comparer<(float Score, int Index)>.Create((a, b) =>
            a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Index.CompareTo(a.Index)));
        foreach (var i in items)
        {
            var s = score(i);
            if (best.Count < k)
            {
                best.Enqueue(i, (s, i));
            }
            else if (best.TryPeek(out _, out var weakest) && s > weakest.Score)
            {
                best.EnqueueDequeue(i, (s, i));
            }
        }

        var result = new (int, float)[best.Count];
        for (var slot = result.Length - 1; slot >= 0; slot--)
        {
            best.TryDequeue(out var index, out var key);
            result[slot] = (index, key.Score);
        }

        return result;
    }
}
