namespace Bge.Tokenizer.Models;

/// <summary>
/// One thread's memory of how recent short words were segmented (word text → piece ids with their word-local
/// ranges), as Hugging Face's Unigram keeps one: text repeats its words, so most words skip the Viterbi search.
/// Bounded: emptied when full. Hits allocate nothing.
/// </summary>
internal sealed class WordCache
{
    /// <summary>Longest word (UTF-16 units) remembered; longer ones are rare and costly to key.</summary>
    public const int MaxWordLength = 32;

    private const int Capacity = 16_384;

    private readonly Dictionary<string, int[]> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public WordCache(object owner)
    {
        Owner = owner;
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The model whose segmentations these are.</summary>
    public object Owner { get; }

    /// <summary>The remembered tokens of <paramref name="word"/>: triples (id, first unit, end unit).</summary>
    public bool TryGet(ReadOnlySpan<char> word, out int[] tokens) => _lookup.TryGetValue(word, out tokens!);

    public void Add(ReadOnlySpan<char> word, ReadOnlySpan<int> tokens)
    {
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }

        _lookup[word] = tokens.ToArray();
    }
}
