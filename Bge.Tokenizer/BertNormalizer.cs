using System.Globalization;
using System.Text;

namespace Bge.Tokenizer;

/// <summary>
/// Hugging Face's BertNormalizer, one code point at a time: clean text (drop NUL, U+FFFD and control, format,
/// unassigned and private-use characters; every whitespace character becomes a space), put spaces around CJK
/// ideographs, strip accents (NFD from <see cref="CanonicalDecomposition"/>'s own Unicode data, never ICU, then drop nonspacing
/// marks) and lowercase, in that order.
/// </summary>
/// <param name="CleanText">Drop control characters and map whitespace to spaces.</param>
/// <param name="HandleChineseChars">Surround CJK ideographs with spaces.</param>
/// <param name="StripAccents">Decompose (NFD) and drop nonspacing marks.</param>
/// <param name="Lowercase">Lowercase every character.</param>
public sealed record BertNormalizer(bool CleanText = true, bool HandleChineseChars = true, bool StripAccents = true, bool Lowercase = true)
{
    /// <summary>Most code points one input code point can become.</summary>
    public const int MaxExpansion = 24;

    /// <summary>Normalizes a whole string (for inspection and tests; encoding streams code points instead).</summary>
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        Span<Rune> output = stackalloc Rune[MaxExpansion];
        for (var i = 0; i < text.Length;)
        {
            var rune = ReadRune(text, ref i);
            var count = Normalize(rune, output);
            foreach (var r in output[..count])
            {
                builder.Append(r.ToString());
            }
        }

        return builder.ToString();
    }

    /// <summary>Reads the code point at <paramref name="index"/> and advances past it; a lone surrogate reads as U+FFFD.</summary>
    public static Rune ReadRune(string text, ref int index)
    {
        ArgumentNullException.ThrowIfNull(text);
        Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed);
        index += consumed;
        return rune;
    }

    /// <summary>Writes what one code point normalizes to into <paramref name="output"/>; returns how many code points.</summary>
    /// <exception cref="ArgumentException"><paramref name="output"/> is shorter than <see cref="MaxExpansion"/>.</exception>
    public int Normalize(Rune rune, Span<Rune> output)
    {
        if (output.Length < MaxExpansion)
        {
            throw new ArgumentException($"needs room for {MaxExpansion} code points", nameof(output));
        }

        if (CleanText)
        {
            if (rune.Value == 0 || rune.Value == 0xFFFD || UnicodeClasses.IsControl(rune))
            {
                return 0;
            }

            if (UnicodeClasses.IsWhitespace(rune))
            {
                rune = new Rune(' ');
            }
        }

        if (HandleChineseChars && UnicodeClasses.IsChineseChar(rune.Value))
        {
            output[0] = new Rune(' ');
            output[1] = Lowercase ? Rune.ToLowerInvariant(rune) : rune;
            output[2] = new Rune(' ');
            return 3;
        }

        if (rune.IsAscii)
        {
            output[0] = Lowercase ? Rune.ToLowerInvariant(rune) : rune;
            return 1;
        }

        var count = 0;
        if (StripAccents)
        {
            Span<Rune> parts = stackalloc Rune[CanonicalDecomposition.MaxLength];
            var length = CanonicalDecomposition.Decompose(rune, parts);
            foreach (var part in parts[..length])
            {
                if (!UnicodeClasses.IsNonspacingMark(part))
                {
                    count = Append(part, output, count);
                }
            }
        }
        else
        {
            count = Append(rune, output, count);
        }

        return count;
    }

    private int Append(Rune rune, Span<Rune> output, int count)
    {
        if (!Lowercase)
        {
            output[count] = rune;
            return count + 1;
        }

        // U+0130 is the one character whose full lowercase mapping is two code points (i + combining dot above).
        if (rune.Value == 0x130)
        {
            output[count] = new Rune('i');
            output[count + 1] = new Rune(0x307);
            return count + 2;
        }

        output[count] = Rune.ToLowerInvariant(rune);
        return count + 1;
    }
}

/// <summary>The character classes BERT's normalizer and pre-tokenizer use, as Hugging Face's tokenizers defines them.</summary>
public static class UnicodeClasses
{
    /// <summary>Whitespace: tab, LF, CR and the Unicode White_Space characters.</summary>
    public static bool IsWhitespace(Rune rune) => rune.Value switch
    {
        '\t' or '\n' or '\r' or ' ' => true,
        < 0x80 => rune.Value is 0x0B or 0x0C,
        0x85 or 0xA0 or 0x1680 or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    /// <summary>Control in BERT's sense: categories Cc, Cf, Cn, Co, Cs, except tab, LF and CR.</summary>
    public static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;
    }

    /// <summary>A CJK ideograph, by the code-point blocks Hugging Face lists.</summary>
    public static bool IsChineseChar(int codePoint) => codePoint switch
    {
        >= 0x4E00 and <= 0x9FFF => true,
        >= 0x3400 and <= 0x4DBF => true,
        >= 0x20000 and <= 0x2A6DF => true,
        >= 0x2A700 and <= 0x2B73F => true,
        >= 0x2B740 and <= 0x2B81F => true,
        >= 0x2B920 and <= 0x2CEAF => true,
        >= 0xF900 and <= 0xFAFF => true,
        >= 0x2F800 and <= 0x2FA1F => true,
        _ => false,
    };

    /// <summary>Punctuation in BERT's sense: every ASCII symbol (<c>!"#$%&amp;'()*+,-./:;&lt;=&gt;?@[\]^_`{|}~</c>) and Unicode P* categories.</summary>
    public static bool IsPunctuation(Rune rune)
    {
        var c = rune.Value;
        if (c < 0x80)
        {
            return c is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126);
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>A nonspacing mark (category Mn).</summary>
    public static bool IsNonspacingMark(Rune rune) => Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark;
}
