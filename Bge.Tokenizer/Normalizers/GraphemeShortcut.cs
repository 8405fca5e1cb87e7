using System.Globalization;

namespace Bge.Tokenizer.Normalizers;

/// <summary>
/// When a BMP character is a grapheme cluster by itself, decided from it and the next character alone, so the
/// common case skips the full segmentation (UAX #29). Conservative: a "no" only means "ask the full rules".
/// A character <c>c</c> stands alone before <c>n</c> when <c>c</c> is not one that joins what follows (Prepend,
/// Hangul jamo and syllables, regional indicators, surrogates) and <c>n</c> has the property Other (letters,
/// digits, punctuation, symbols and spaces, minus the few such characters that are SpacingMark or Extend) or is a
/// control, before which clusters always break.
/// </summary>
internal static class GraphemeShortcut
{
    private const byte StandsAlone = 1;
    private const byte BreaksBefore = 2;
    private const byte Mark = 4;

    private static readonly byte[] Flags = Build();

    /// <summary>Whether <paramref name="c"/> followed by <paramref name="next"/> is certainly a one-character cluster.</summary>
    public static bool IsSingle(char c, char next) => (Flags[c] & StandsAlone) != 0 && (Flags[next] & BreaksBefore) != 0;

    /// <summary>
    /// The length of a cluster that is one character followed by nonspacing or enclosing marks (Latin with
    /// diacritics, Arabic harakat, Hebrew points, Thai vowels), when the character after the marks certainly starts
    /// a new cluster; 0 when the full rules must decide. Indic marks are left to the full rules (their viramas join
    /// conjuncts).
    /// </summary>
    public static int MarkedClusterLength(string text, int index, int end)
    {
        var c = text[index];
        if ((Flags[c] & StandsAlone) == 0 || char.IsControl(c))
        {
            return 0;
        }

        var i = index + 1;
        while (i < end && (Flags[text[i]] & Mark) != 0)
        {
            i++;
        }

        return i > index + 1 && (i == end || (Flags[text[i]] & BreaksBefore) != 0) ? i - index : 0;
    }

    private static byte[] Build()
    {
        var flags = new byte[char.MaxValue + 1];
        for (var i = 0; i <= char.MaxValue; i++)
        {
            var c = (char)i;
            var category = char.GetUnicodeCategory(c);
            var joinsNext = char.IsSurrogate(c) || IsHangul(c) || c == '\r' || c is '\u0D4E' or '\u06DD' or '\u070F' or '\u08E2'
                || (c >= '\u0600' && c <= '\u0605') || (c >= '\u0890' && c <= '\u0891') || category == UnicodeCategory.Format;
            var other = category switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber
                    or UnicodeCategory.OtherNumber or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
                    or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                    or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol
                    or UnicodeCategory.CurrencySymbol or UnicodeCategory.OtherSymbol or UnicodeCategory.SpaceSeparator => true,
                // Controls (but not the joiners, which are Format): a cluster always ends before one.
                UnicodeCategory.Control => true,
                _ => false,
            };
            // Thai and Lao AM are letters by category but SpacingMark for clusters.
            other &= c is not '\u0E33' and not '\u0EB3' && !char.IsSurrogate(c);
            // Nonspacing and enclosing marks are all Extend; Indic ones (U+0900-U+0DFF) may be conjunct linkers.
            var mark = category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark && c is < '\u0900' or > '\u0DFF';
            flags[i] = (byte)((joinsNext ? 0 : StandsAlone) | (other ? BreaksBefore : 0) | (mark ? Mark : 0));
        }

        return flags;
    }

    private static bool IsHangul(char c) => c is (>= '\u1100' and <= '\u11FF') or (>= '\uA960' and <= '\uA97F') or (>= '\uAC00' and <= '\uD7FF');
}
