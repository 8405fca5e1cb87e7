namespace Bge.Core.Search;

/// <summary>
/// The <see cref="K"/> best of an exact scan: each row's score is offered once and the best are kept in a min-heap of
/// at most k entries (its root the weakest kept), so scanning n rows takes O(n log k) time and O(k) memory whatever n
/// is. Higher scores rank first; of equal scores the lower index does, in whatever order the rows are offered. NaN
/// ranks below every number (as <see cref="float.CompareTo(float)"/> orders it): a caller that means "no score"
/// passes such a row over instead of offering it.
/// </summary>
public sealed class TopK
{
    // Orders weakest first: lower score, and of equal scores the higher index.
    private static readonly Comparer<(float Score, int Index)> Weakest = Comparer<(float Score, int Index)>.Create((a, b) =>
        a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Index.CompareTo(a.Index));

    private readonly PriorityQueue<int, (float Score, int Index)> _heap;

    /// <summary>Keeps the best <paramref name="k"/> rows offered.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        _heap = new PriorityQueue<int, (float Score, int Index)>(Weakest);
    }

    /// <summary>How many rows are kept at most.</summary>
    public int K { get; }

    /// <summary>How many rows are kept now (at most <see cref="K"/>).</summary>
    public int Count => _heap.Count;

    /// <summary>Offers row <paramref name="index"/> with its score; it is kept if it is among the best <see cref="K"/> so far.</summary>
    public void Add(int index, float score)
    {
        if (_heap.Count < K)
        {
            _heap.Enqueue(index, (score, index));
        }
        else if (_heap.TryPeek(out _, out var weakest) && Weakest.Compare((score, index), weakest) > 0)
        {
            _heap.EnqueueDequeue(index, (score, index));
        }
    }

    /// <summary>The rows kept, best first.</summary>
    public (int Index, float Score)[] Best()
    {
        var kept = _heap.UnorderedItems.Select(item => item.Priority).ToArray();
        Array.Sort(kept, (a, b) => Weakest.Compare(b, a));
        return [.. kept.Select(entry => (entry.Index, entry.Score))];
    }
}
