using System.Buffers;
using System.Globalization;
using System.Text;
using Bge.Tokenizer.Normalizers;

namespace Bge.Tokenizer;

/// <summary>A token matched literally in the raw text before normalization, as tokenizer.json's <c>added_tokens</c> lists it.</summary>
/// <param name="Content">Its text.</param>
/// <param name="Id">Its id.</param>
/// <param name="Special">A special token (dropped by decoding).</param>
/// <param name="LeftStrip">It swallows the whitespace before it.</param>
/// <param name="RightStrip">It swallows the whitespace after it.</param>
/// <param name="SingleWord">It matches only where no word character touches it.</param>
internal sealed record AddedToken(string Content, int Id, bool Special = true, bool LeftStrip = false, bool RightStrip = false, bool SingleWord = false);

/// <summary>
/// Finds added tokens in raw text as Hugging Face's AddedVocabulary does: the leftmost match, the longest there;
/// <c>single_word</c> refuses a match touching a word character (then the search goes on after it); <c>lstrip</c> and
/// <c>rstrip</c> widen a match over adjacent whitespace, never back into the previous match.
/// </summary>
internal sealed class AddedTokens
{
    private readonly AddedToken[] _longestFirst;
    private readonly SearchValues<char> _firstChars;
    private readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);
    private readonly Dictionary<int, AddedToken> _byId = [];

    public AddedTokens(IEnumerable<AddedToken> tokens)
    {
        foreach (var token in tokens.Where(t => t.Content.Length > 0))
        {
            _byContent[token.Content] = token;
            _byId[token.Id] = token;
        }

        _longestFirst = [.. _byContent.Values.OrderByDescending(t => t.Content.Length)];
        _firstChars = SearchValues.Create(string.Concat(_longestFirst.Select(t => t.Content[0]).Distinct()));
    }

    public IReadOnlyCollection<AddedToken> All => _byContent.Values;

    public int MaxId => _byId.Count == 0 ? -1 : _byId.Keys.Max();

    public bool IsSpecial(int id) => _byId.TryGetValue(id, out var token) && token.Special;

    public string? IdToToken(int id) => _byId.TryGetValue(id, out var token) ? token.Content : null;

    public bool TryGetId(string content, out int id)
    {
        var found = _byContent.TryGetValue(content, out var token);
        id = found ? token!.Id : -1;
        return found;
    }

    /// <summary>The first added token at or after <paramref name="from"/>: its widened range and id, or (length, length, -1).</summary>
    public (int Start, int End, int Id) FindNext(string text, int from)
    {
        for (var p = from; p < text.Length && _longestFirst.Length > 0;)
        {
            var at = text.AsSpan(p).IndexOfAny(_firstChars);
            if (at < 0)
            {
                break;
            }

            at += p;
            var token = LongestAt(text, at);
            if (token is null)
            {
                p = at + 1;
                continue;
            }

            var start = at;
            var end = at + token.Content.Length;
            if (token.SingleWord && (EndsWithWord(text.AsSpan(0, start)) || StartsWithWord(text.AsSpan(end))))
            {
                p = end;
                continue;
            }

            while (token.LeftStrip && start > from && UnicodeClasses.IsWhitespace(new Rune(text[start - 1])))
            {
                start--;
            }

            while (token.RightStrip && end < text.Length && UnicodeClasses.IsWhitespace(new Rune(text[end])))
            {
                end++;
            }

            return (start, end, token.Id);
        }

        return (text.Length, text.Length, -1);
    }

    private AddedToken? LongestAt(string text, int at)
    {
        foreach (var token in _longestFirst)
        {
            if (text.AsSpan(at).StartsWith(token.Content, StringComparison.Ordinal))
            {
                return token;
            }
        }

        return null;
    }

    private static bool EndsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeLastFromUtf16(text, out var rune, out _) == OperationStatus.Done && IsWordCharacter(rune);

    private static bool StartsWithWord(ReadOnlySpan<char> text) =>
        Rune.DecodeFromUtf16(text, out var rune, out _) == OperationStatus.Done && IsWordCharacter(rune);

    /// <summary>The regex class <c>\w</c> in Unicode mode: letters, marks, decimal digits, connector punctuation, joiners.</summary>
    private static bool IsWordCharacter(Rune rune) => rune.Value is 0x200C or 0x200D || Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.LetterNumber => true,
        _ => false,
    };
}
