using System.Text;
using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Models;

/// <summary>
/// WordPiece: greedy longest-match-first over one word, continuation pieces marked by the vocabulary's prefix. A word
/// that cannot be covered, or longer than <see cref="MaxInputCharsPerWord"/> code points, becomes one unknown token
/// spanning the whole word.
/// </summary>
internal sealed class WordPiece(WordPieceVocabulary vocabulary, int unknownId, int maxInputCharsPerWord = 100) : ITokenModel
{
    public WordPieceVocabulary Vocabulary => vocabulary;

    public int MaxInputCharsPerWord => maxInputCharsPerWord;

    public int Count => vocabulary.Count;

    public int UnknownId => unknownId;

    // Two UTF-16 units per code point at most; anything longer becomes one unknown token anyway.
    public int WordCapacity => Math.Max(2 * maxInputCharsPerWord + 2, 4);

    public void Tokenize(WordBuffer word, TokenList into)
    {
        if (word.CodePoints > maxInputCharsPerWord)
        {
            into.Add(unknownId, word.Start, word.End);
            return;
        }

        var chars = word.Chars;
        var mark = into.Count;
        for (var start = 0; start < chars.Length;)
        {
            var found = -1;
            var end = Math.Min(chars.Length, start + vocabulary.MaxTokenLength);
            for (; end > start; end--)
            {
                if (end < chars.Length && char.IsLowSurrogate(chars[end]) && char.IsHighSurrogate(chars[end - 1]))
                {
                    continue; // never split a surrogate pair
                }

                var piece = chars[start..end];
                if (start == 0 ? vocabulary.TryGetId(piece, out found) : vocabulary.TryGetContinuationId(piece, out found))
                {
                    break;
                }

                found = -1;
            }

            if (found < 0)
            {
                into.KeepFirst(mark);
                into.Add(unknownId, word.Start, word.End);
                return;
            }

            into.Add(found, word.From(start), word.To(end - 1));
            start = end;
        }
    }

    public string? IdToToken(int id) => vocabulary[id];

    public bool TryGetId(ReadOnlySpan<char> token, out int id) => vocabulary.TryGetId(token, out id);

    public string Decode(IEnumerable<string> pieces)
    {
        var builder = new StringBuilder();
        foreach (var token in pieces)
        {
            if (token.StartsWith(vocabulary.ContinuationPrefix, StringComparison.Ordinal))
            {
                builder.Append(token.AsSpan(vocabulary.ContinuationPrefix.Length));
            }
            else
            {
                builder.Append(builder.Length > 0 ? " " : "").Append(token);
            }
        }

        return builder.ToString();
    }
}
