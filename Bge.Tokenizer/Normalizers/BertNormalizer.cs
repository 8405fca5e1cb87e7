using System.Text;
using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Normalizers;

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
internal sealed record BertNormalizer(bool CleanText = true, bool HandleChineseChars = true, bool StripAccents = true, bool Lowercase = true) : INormalizer
{
    /// <summary>Most code points one input code point can become.</summary>
    public const int MaxExpansion = 24;

    public string Name => "BertNormalizer";

    public INormalizerRun Start(ICodePointSink next) => new Run(this, next);

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

    /// <summary>One code point at a time: every output code point keeps the input range of the code point it came from.</summary>
    private sealed class Run(BertNormalizer normalizer, ICodePointSink next) : INormalizerRun
    {
        private readonly Rune[] _output = new Rune[MaxExpansion];

        public void Begin(int segmentStart) => next.Begin(segmentStart);

        public int Next(string text, int index, int end)
        {
            var rune = TextUnits.ReadRune(text, index, end, out var consumed);
            var count = normalizer.Normalize(rune, _output);
            for (var k = 0; k < count; k++)
            {
                next.Add(_output[k].Value, index, index + consumed);
            }

            return index + consumed;
        }

        public void End() => next.End();
    }
}
