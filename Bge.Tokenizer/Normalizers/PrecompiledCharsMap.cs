using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Bge.Tokenizer.Normalizers;

/// <summary>
/// sentencepiece's compiled character map: a little-endian u32 byte size of the trie, the trie as darts-clone
/// double-array units (u32) over UTF-8, then the replacement strings, each ended by NUL. A trie value is the offset
/// of a replacement in that blob. Replacements are decoded once, so lookups do not allocate.
/// </summary>
internal sealed class PrecompiledCharsMap
{
    private readonly uint[] _units;
    private readonly byte[] _blob;
    private readonly ConcurrentDictionary<int, int[]> _replacements = new();
    private readonly int[]?[] _bmp = new int[char.MaxValue + 1][];

    private PrecompiledCharsMap(uint[] units, byte[] blob)
    {
        _units = units;
        _blob = blob;
        // Every BMP character's own entry, looked up once, so most text never walks the trie.
        Span<byte> utf8 = stackalloc byte[4];
        for (var c = 0; c <= char.MaxValue; c++)
        {
            var rune = char.IsSurrogate((char)c) ? System.Text.Rune.ReplacementChar : new System.Text.Rune(c);
            _bmp[c] = Lookup(utf8[..rune.EncodeToUtf8(utf8)]);
        }
    }

    /// <summary>Parses the charsmap bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a charsmap.</exception>
    public static PrecompiledCharsMap Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 4)
        {
            throw new InvalidDataException($"precompiled charsmap of {bytes.Length} bytes has no trie size");
        }

        var trieSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (trieSize % 4 != 0 || trieSize > bytes.Length - 4 || trieSize == 0)
        {
            throw new InvalidDataException($"precompiled charsmap declares a trie of {trieSize} bytes in {bytes.Length - 4} (a positive multiple of 4 that fits is needed)");
        }

        var units = new uint[trieSize / 4];
        for (var i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 + (4 * i))..]);
        }

        return new PrecompiledCharsMap(units, bytes[(4 + (int)trieSize)..].ToArray());
    }

    /// <summary>The replacement of the shortest prefix of <paramref name="utf8"/> the map has (as code points), or null when none has one.</summary>
    public int[]? Lookup(ReadOnlySpan<byte> utf8)
    {
        var value = FirstPrefixValue(utf8);
        return value < 0 ? null : _replacements.GetOrAdd(value, Decode);
    }

    /// <summary>The replacement of one BMP character (a lone surrogate as U+FFFD), or null.</summary>
    public int[]? LookupChar(char c) => _bmp[c];

    private int FirstPrefixValue(ReadOnlySpan<byte> key)
    {
        var units = _units;
        var position = Offset(units[0]);
        foreach (var b in key)
        {
            position ^= b;
            if (position >= (uint)units.Length)
            {
                return -1;
            }

            var unit = units[position];
            if ((unit & 0x800000FFu) != b)
            {
                return -1;
            }

            position ^= Offset(unit);
            if ((unit & 0x100u) != 0)
            {
                return position < (uint)units.Length ? (int)(units[position] & 0x7FFFFFFFu) : -1;
            }
        }

        return -1;
    }

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & 0x200u) >> 6);

    /// <summary>The NUL-ended replacement at a blob offset; a corrupt offset or invalid UTF-8 reads as U+FFFD rather than failing mid-text.</summary>
    private int[] Decode(int offset)
    {
        if ((uint)offset >= (uint)_blob.Length)
        {
            return [];
        }

        var bytes = _blob.AsSpan(offset);
        var end = bytes.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]).EnumerateRunes().Select(r => r.Value).ToArray();
    }
}
