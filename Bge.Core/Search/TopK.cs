namespace Bge.Core.Search;

/// <summary>
/// The <see cref="K"/> best of an exact scan: each row's score is offered once and the best are kept in a min-heap of
/// at most k entries (its root the weakest kept), so scanning n rows takes O(n log k) time and O(k) memory whatever n
/// is, and once the heap holds good rows most offers cost one comparison. Higher scores rank first; of equal scores
/// the lower index does, in whatever order the rows are offered. NaN ranks below every number: a caller that means
/// "no score" passes such a row over instead of offering it.
/// </summary>
public sealed class TopK
{
    private int[] _index;
    private float[] _score;

    /// <summary>Keeps the best <paramref name="k"/> rows offered.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1.</exception>
    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
        // Grown as rows arrive, so a large k over few rows costs what the rows do.
        _index = new int[Math.Min(k, 1024)];
        _score = new float[_index.Length];
    }

    /// <summary>How many rows are kept at most.</summary>
    public int K { get; }

    /// <summary>How many rows are kept now (at most <see cref="K"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The weakest score kept once full (a row scoring no more, offered after those kept, is refused); −∞ before.</summary>
    internal float Threshold => Count == K ? _score[0] : float.NegativeInfinity;

    /// <summary>Offers row <paramref name="index"/> with its score; it is kept if it is among the best <see cref="K"/> so far.</summary>
    public void Add(int index, float score)
    {
        if (Count < K)
        {
            Push(index, score);
        }
        else if (Weaker(_score[0], _index[0], score, index))
        {
            SiftDown(index, score);
        }
    }

    /// <summary>The rows kept, best first.</summary>
    public (int Index, float Score)[] Best()
    {
        var result = new (int Index, float Score)[Count];
        for (var i = 0; i < Count; i++)
        {
            result[i] = (_index[i], _score[i]);
        }

        Array.Sort(result, (a, b) => Weaker(a.Score, a.Index, b.Score, b.Index) ? 1 : Weaker(b.Score, b.Index, a.Score, a.Index) ? -1 : 0);
        return result;
    }

    /// <summary>The best <paramref name="k"/> of <paramref name="items"/> by <paramref name="score"/>.</summary>
    internal static (int Index, float Score)[] Select(IEnumerable<int> items, int k, Func<int, float> score)
    {
        var best = new TopK(k);
        foreach (var i in items)
        {
            best.Add(i, score(i));
        }

        return best.Best();
    }

    // Lower score, or equal score and higher index; NaN below every number.
    private static bool Weaker(float score, int index, float otherScore, int otherIndex) =>
        score.CompareTo(otherScore) is var order && (order < 0 || (order == 0 && index > otherIndex));

    // Sift up in the min-heap whose root is the weakest.
    private void Push(int index, float score)
    {
        if (Count == _index.Length)
        {
            var size = (int)Math.Min(K, 2L * _index.Length);
            Array.Resize(ref _index, size);
            Array.Resize(ref _score, size);
        }

        var slot = Count++;
        while (slot > 0 && Weaker(score, index, _score[(slot - 1) / 2], _index[(slot - 1) / 2]))
        {
            (_index[slot], _score[slot]) = (_index[(slot - 1) / 2], _score[(slot - 1) / 2]);
            slot = (slot - 1) / 2;
        }

        (_index[slot], _score[slot]) = (index, score);
    }

    // Replaces the root with (index, score) and restores the heap.
    private void SiftDown(int index, float score)
    {
        var slot = 0;
        while (true)
        {
            var child = (2 * slot) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && Weaker(_score[child + 1], _index[child + 1], _score[child], _index[child]))
            {
                child++;
            }

            if (!Weaker(_score[child], _index[child], score, index))
            {
                break;
            }

            (_index[slot], _score[slot]) = (_index[child], _score[child]);
            slot = child;
        }

        (_index[slot], _score[slot]) = (index, score);
    }
}
