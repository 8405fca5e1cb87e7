using System.Text;

namespace Bge.Tokenizer.Pipeline;

/// <summary>
/// The word a pre-tokenizer is building: its normalized UTF-16 text and, per UTF-16 unit, the input range it came
/// from. Past <see cref="Capacity"/> units a word is only counted (a model that maps such words to one unknown
/// token never needs their text), so memory stays bounded whatever the input.
/// </summary>
internal sealed class WordBuffer(int capacity)
{
    private char[] _chars = new char[Math.Min(capacity, 256)];
    private int[] _from = new int[Math.Min(capacity, 256)];
    private int[] _to = new int[Math.Min(capacity, 256)];

    public int Capacity { get; } = capacity;

    /// <summary>UTF-16 units stored.</summary>
    public int Length { get; private set; }

    /// <summary>Code points appended (stored or not).</summary>
    public int CodePoints { get; private set; }

    /// <summary>Input start of the first code point.</summary>
    public int Start { get; private set; }

    /// <summary>Input end of the last code point.</summary>
    public int End { get; private set; }

    public bool IsEmpty => CodePoints == 0;

    public ReadOnlySpan<char> Chars => _chars.AsSpan(0, Length);

    /// <summary>Input start of UTF-16 unit <paramref name="index"/>.</summary>
    public int From(int index) => _from[index];

    /// <summary>Input end of UTF-16 unit <paramref name="index"/>.</summary>
    public int To(int index) => _to[index];

    public void Append(int codePoint, int start, int end)
    {
        if (CodePoints == 0)
        {
            Start = start;
        }

        End = end;
        CodePoints++;
        var length = Length;
        if (codePoint < 0x10000 && length < _chars.Length)
        {
            // The usual case: one UTF-16 unit, room for it.
            _chars[length] = (char)codePoint;
            _from[length] = start;
            _to[length] = end;
            Length = length + 1;
            return;
        }

        var units = codePoint >= 0x10000 ? 2 : 1;
        if (length + units > Capacity)
        {
            return;
        }

        if (length + units > _chars.Length)
        {
            var size = (int)Math.Min(Capacity, Math.Max(2L * _chars.Length, length + units));
            Array.Resize(ref _chars, size);
            Array.Resize(ref _from, size);
            Array.Resize(ref _to, size);
        }

        if (units == 1)
        {
            _chars[length] = (char)codePoint;
        }
        else
        {
            new Rune(codePoint).EncodeToUtf16(_chars.AsSpan(length));
        }

        for (var k = 0; k < units; k++)
        {
            _from[length + k] = start;
            _to[length + k] = end;
        }

        Length = length + units;
    }

    public void Clear()
    {
        Length = 0;
        CodePoints = 0;
    }
}
