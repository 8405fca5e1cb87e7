namespace Bge.Tokenizer.Models;

/// <summary>
/// One thread's memory of how recent short words were segmented (word text → piece ids with their word-local
/// ranges), as Hugging Face's Unigram keeps one: text repeats its words, so most words skip the Viterbi search.
/// Bounded: emptied when full. Neither hits nor misses allocate once the arrays have grown: the words and their
/// tokens are copied into two flat arenas and indexed by an open-addressing table of entry numbers. (It was a
/// Dictionary&lt;string, int[]&gt;; on the first pass of a fresh tokenizer, where every word is new, its string and
/// array per word and its rehashing cost about a fifth of the pass.)
/// </summary>
internal sealed class WordCache
{
    /// <summary>Longest word (UTF-16 units) remembered; longer ones are rare and costly to key.</summary>
    public const int MaxWordLength = 32;

    private const int Capacity = 16_384;

    // Slot → entry number + 1 (0: empty); at most half full, so probes stay short. Sized for the ~4,000 distinct
    // words of a few pages of text, so a first pass rarely regrows (~130 KB per thread and model).
    private int[] _slots = new int[8192];
    private Entry[] _entries = new Entry[4096];
    private char[] _chars = new char[16_384];
    private int[] _tokens = new int[16_384];
    private int _count;
    private int _charsUsed;
    private int _tokensUsed;

    public WordCache(object owner) => Owner = owner;

    /// <summary>The model whose segmentations these are.</summary>
    public object Owner { get; }

    /// <summary>The remembered tokens of <paramref name="word"/>: triples (id, first unit, end unit).</summary>
    /// <param name="word">The word.</param>
    /// <param name="hash">The word's hash, for <see cref="Add"/> after a miss (hashing twice cost ~10% of a first pass).</param>
    /// <param name="tokens">The tokens, on a hit.</param>
    public bool TryGet(ReadOnlySpan<char> word, out int hash, out ReadOnlySpan<int> tokens)
    {
        hash = string.GetHashCode(word);
        var mask = _slots.Length - 1;
        for (var slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var index = _slots[slot] - 1;
            if (index < 0)
            {
                tokens = default;
                return false;
            }

            ref readonly var entry = ref _entries[index];
            if (entry.Hash == hash && word.SequenceEqual(_chars.AsSpan(entry.CharStart, entry.CharLength)))
            {
                tokens = _tokens.AsSpan(entry.TokenStart, entry.TokenLength);
                return true;
            }
        }
    }

    /// <summary>Remembers <paramref name="word"/>'s tokens; the word must not be remembered already.</summary>
    public void Add(ReadOnlySpan<char> word, int hash, ReadOnlySpan<int> tokens)
    {
        if (_count >= Capacity)
        {
            Array.Clear(_slots);
            _count = _charsUsed = _tokensUsed = 0;
        }

        if (2 * (_count + 1) > _slots.Length)
        {
            Grow();
        }

        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, 2 * _entries.Length);
        }

        _chars = Fit(_chars, _charsUsed + word.Length);
        _tokens = Fit(_tokens, _tokensUsed + tokens.Length);
        word.CopyTo(_chars.AsSpan(_charsUsed));
        tokens.CopyTo(_tokens.AsSpan(_tokensUsed));
        _entries[_count] = new Entry(hash, _charsUsed, word.Length, _tokensUsed, tokens.Length);
        _charsUsed += word.Length;
        _tokensUsed += tokens.Length;
        Place(_slots, hash, ++_count);
    }

    private static T[] Fit<T>(T[] array, int length)
    {
        if (length > array.Length)
        {
            Array.Resize(ref array, Math.Max(length, 2 * array.Length));
        }

        return array;
    }

    private static void Place(int[] slots, int hash, int value)
    {
        var mask = slots.Length - 1;
        var slot = hash & mask;
        while (slots[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }

        slots[slot] = value;
    }

    private void Grow()
    {
        var slots = new int[2 * _slots.Length];
        for (var i = 0; i < _count; i++)
        {
            Place(slots, _entries[i].Hash, i + 1);
        }

        _slots = slots;
    }

    private readonly record struct Entry(int Hash, int CharStart, int CharLength, int TokenStart, int TokenLength);
}
