namespace Bge.Tokenizer.Pipeline;

/// <summary>Token ids with the [start, end) UTF-16 input range of each; reused across calls, so it grows but never shrinks.</summary>
internal sealed class TokenList
{
    private int[] _ids = new int[64];
    private (int Start, int End)[] _offsets = new (int, int)[64];

    public int Count { get; private set; }

    public ReadOnlySpan<int> Ids => _ids.AsSpan(0, Count);

    public ReadOnlySpan<(int Start, int End)> Offsets => _offsets.AsSpan(0, Count);

    public void Add(int id, int start, int end)
    {
        if (Count == _ids.Length)
        {
            Array.Resize(ref _ids, Count * 2);
            Array.Resize(ref _offsets, Count * 2);
        }

        _ids[Count] = id;
        _offsets[Count] = (start, end);
        Count++;
    }

    public void Clear() => Count = 0;

    /// <summary>Keeps the first <paramref name="count"/> tokens.</summary>
    public void KeepFirst(int count) => Count = Math.Min(Count, count);

    /// <summary>Keeps the last <paramref name="count"/> tokens.</summary>
    public void KeepLast(int count)
    {
        if (count >= Count)
        {
            return;
        }

        _ids.AsSpan(Count - count, count).CopyTo(_ids);
        _offsets.AsSpan(Count - count, count).CopyTo(_offsets);
        Count = count;
    }
}
