namespace Bge.Core.Search;

/// <summary>
/// The k highest-scoring of a range of items, best first, ties to the earlier item. Items are offered in increasing
/// index order, so an item that only equals the weakest kept is refused without touching the heap: a full scan costs
/// one comparison per item once the heap has filled with good ones.
/// </summary>
internal sealed class TopK
{
    private readonly int[] _index;
    private readonly float[] _score;
    private int _count;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        _index = new int[k];
        _score = new float[k];
    }

    /// <summary>The weakest score kept once full (anything not above it is refused); −∞ before.</summary>
    public float Threshold => _count == _index.Length ? _score[0] : float.NegativeInfinity;

    public void Offer(int index, float score)
    {
        if (_count < _index.Length)
        {
            // Sift up in a min-heap whose root is the weakest (lowest score, then latest index).
            var slot = _count++;
            while (slot > 0 && Weaker(score, index, (slot - 1) / 2))
            {
                (_index[slot], _score[slot]) = (_index[(slot - 1) / 2], _score[(slot - 1) / 2]);
                slot = (slot - 1) / 2;
            }

            (_index[slot], _score[slot]) = (index, score);
        }
        else if (score > _score[0])
        {
            SiftDown(index, score);
        }
    }

    /// <summary>What is kept, best first.</summary>
    public (int Index, float Score)[] Result()
    {
        var result = new (int Index, float Score)[_count];
        for (var i = 0; i < _count; i++)
        {
            result[i] = (_index[i], _score[i]);
        }

        Array.Sort(result, (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Index.CompareTo(b.Index));
        return result;
    }

    public static (int Index, float Score)[] Select(int count, int k, Func<int, float> score) => Select(Enumerable.Range(0, count), k, score);

    public static (int Index, float Score)[] Select(IEnumerable<int> items, int k, Func<int, float> score)
    {
        // Rescoring offers candidates out of index order: those go through the heap's full comparison.
        var best = new TopK(k);
        foreach (var i in items)
        {
            best.OfferAnyOrder(i, score(i));
        }

        return best.Result();
    }

    private void OfferAnyOrder(int index, float score)
    {
        if (_count < _index.Length)
        {
            Offer(index, score);
        }
        else if (Weaker(_score[0], _index[0], score, index))
        {
            SiftDown(index, score);
        }
    }

    // Whether (score, index) is weaker than the entry at slot: lower score, or equal score and later index.
    private bool Weaker(float score, int index, int slot) => Weaker(score, index, _score[slot], _index[slot]);

    private static bool Weaker(float score, int index, float otherScore, int otherIndex) => score < otherScore || (score == otherScore && index > otherIndex);

    // Replaces the root with (index, score) and restores the heap.
    private void SiftDown(int index, float score)
    {
        var slot = 0;
        while (true)
        {
            var child = (2 * slot) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && Weaker(_score[child + 1], _index[child + 1], child))
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
