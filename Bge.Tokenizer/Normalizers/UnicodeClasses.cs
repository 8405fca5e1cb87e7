using System.Globalization;
using System.Text;

namespace Bge.Tokenizer.Normalizers;

/// <summary>The character classes BERT's normalizer and pre-tokenizer use, as Hugging Face's tokenizers defines them.</summary>
internal static class UnicodeClasses
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
