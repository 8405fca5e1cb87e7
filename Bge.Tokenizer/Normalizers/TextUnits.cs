using System.Text;

namespace Bge.Tokenizer.Normalizers;

/// <summary>Reading code points out of UTF-16 input.</summary>
internal static class TextUnits
{
    /// <summary>The code point at <paramref name="index"/>, not reading past <paramref name="end"/>; a lone surrogate reads as U+FFFD.</summary>
    public static Rune ReadRune(string text, int index, int end, out int consumed)
    {
        var c = text[index];
        if (!char.IsSurrogate(c))
        {
            consumed = 1;
            return new Rune(c);
        }

        Rune.DecodeFromUtf16(text.AsSpan(index, end - index), out var rune, out consumed);
        return rune;
    }
}
