namespace Bge.Tokenizer;

/// <summary>
/// WordPiece: greedy longest-match-first over one word, continuation pieces marked <c>##</c>. A word that cannot
/// be covered, or longer than <see cref="MaxInputCharsPerWord"/> code points, becomes one <c>[UNK]</c>.
/// </summary>
/// <param name="Vocabulary">The vocabulary.</param>
/// <param name="MaxInputCharsPerWord">Longest word (in code points) that is split rather than mapped to [UNK].</param>
public sealed record WordPiece(Vocabulary Vocabulary, int MaxInputCharsPerWord = 100)
{
    /// <summary>
    /// Appends the pieces of <paramref name="word"/> to <paramref name="ids"/> and, for each, the index range
    /// [first, last] of the word's UTF-16 units it covers to <paramref name="spans"/>.
    /// </summary>
    /// <param name="word">The word's normalized text.</param>
    /// <param name="codePoints">Its length in code points.</param>
    /// <param name="ids">Receives the piece ids.</param>
    /// <param name="spans">Receives, per piece, the first and last UTF-16 index within the word.</param>
    public void Tokenize(ReadOnlySpan<char> word, int codePoints, List<int> ids, List<(int First, int Last)> spans)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(spans);
        if (word.IsEmpty)
        {
            return;
        }

        if (codePoints > MaxInputCharsPerWord)
        {
            ids.Add(Vocabulary.UnkId);
            spans.Add((0, word.Length - 1));
            return;
        }

        var mark = ids.Count;
        for (var start = 0; start < word.Length;)
        {
            var found = -1;
            var end = Math.Min(word.Length, start + Vocabulary.MaxTokenLength);
            for (; end > start; end--)
            {
                if (end < word.Length && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1]))
                {
                    continue; // never split a surrogate pair
                }

                var piece = word[start..end];
                if (start == 0 ? Vocabulary.TryGetId(piece, out found) : Vocabulary.TryGetContinuationId(piece, out found))
                {
                    break;
                }

                found = -1;
            }

            if (found < 0)
            {
                ids.RemoveRange(mark, ids.Count - mark);
                spans.RemoveRange(mark, spans.Count - mark);
                ids.Add(Vocabulary.UnkId);
                spans.Add((0, word.Length - 1));
                return;
            }

            ids.Add(found);
            spans.Add((start, end - 1));
            start = end;
        }
    }
}
