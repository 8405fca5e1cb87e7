using System.Globalization;
using System.Text;
using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Normalizers;

/// <summary>
/// Hugging Face's <c>Precompiled</c> normalizer (sentencepiece's charsmap, which carries NFKC and more), walking the
/// text by extended grapheme cluster as Hugging Face does: a cluster under 6 UTF-8 bytes is looked up whole and,
/// when some prefix of it has an entry, replaced whole by that (shortest) prefix's replacement; otherwise each code
/// point is looked up alone. Input ranges follow Hugging Face's alignment rules exactly, deletions included, so
/// offsets match its own (see <see cref="Run"/>).
/// </summary>
internal sealed class PrecompiledNormalizer(PrecompiledCharsMap map) : INormalizer
{
    /// <summary>Clusters this long in UTF-8 or longer are normalized code point by code point.</summary>
    private const int WholeClusterBytes = 6;

    public string Name => "Precompiled";

    public INormalizerRun Start(ICodePointSink next) => new Run(map, next);

    /// <summary>
    /// Hugging Face records each output code point as a change against the input (0: replaces the next input code
    /// point; +1: inserted, aligned with the input code point before the cursor; −n: replaces one and deletes n more)
    /// and a deletion adds its −n to the previous change, so the last change is held back until the next one arrives.
    /// </summary>
    private sealed class Run(PrecompiledCharsMap map, ICodePointSink next) : INormalizerRun
    {
        private string _text = "";
        private int _end;
        private int _cursor;
        private (int Start, int End) _previous;
        private bool _pending;
        private int _pendingCodePoint;
        private int _pendingChange;

        public void Begin(int segmentStart)
        {
            _cursor = segmentStart;
            _previous = (segmentStart, segmentStart);
            _pending = false;
            next.Begin(segmentStart);
        }

        public int Next(string text, int index, int end)
        {
            _text = text;
            _end = end;

            // A run of one-character clusters in one call (bounded, so tokenization still stops soon after its limit).
            var start = index;
            while (index < end && index - start < 64)
            {
                var c = text[index];
                if (!(index + 1 == end ? !char.IsSurrogate(c) : GraphemeShortcut.IsSingle(c, text[index + 1])))
                {
                    break;
                }

                if (map.LookupChar(c) is { } replacement)
                {
                    Replace(1, replacement);
                }
                else
                {
                    Push(c, 0);
                }

                index++;
            }

            if (index > start || index == end)
            {
                return index;
            }

            var length = GraphemeShortcut.MarkedClusterLength(text, index, end);
            var cluster = text.AsSpan(index, length > 0 ? length : StringInfo.GetNextTextElementLength(text.AsSpan(index, end - index)));
            Span<byte> utf8 = stackalloc byte[WholeClusterBytes * 3];
            if (System.Text.Encoding.UTF8.GetByteCount(cluster) < WholeClusterBytes)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(cluster, utf8);
                if (map.Lookup(utf8[..bytes]) is { } whole)
                {
                    Replace(CodePoints(cluster), whole);
                    return index + cluster.Length;
                }
            }

            for (var i = 0; i < cluster.Length;)
            {
                var rune = TextUnits.ReadRune(text, index + i, index + cluster.Length, out var consumed);
                if (rune.IsBmp)
                {
                    Emit(1, map.LookupChar((char)rune.Value), rune.Value);
                }
                else
                {
                    var bytes = rune.EncodeToUtf8(utf8);
                    Emit(1, map.Lookup(utf8[..bytes]), rune.Value);
                }

                i += consumed;
            }

            return index + cluster.Length;
        }

        public void End()
        {
            Commit();
            next.End();
        }

        private void Emit(int oldCount, int[]? replacement, int codePoint)
        {
            if (replacement is null)
            {
                Push(codePoint, 0);
            }
            else
            {
                Replace(oldCount, replacement);
            }
        }

        private void Replace(int oldCount, int[] replacement)
        {
            var diff = replacement.Length - oldCount;
            if (replacement.Length == 0)
            {
                // A deletion folds into the previous change; at a segment's start there is none and it is lost, as in Hugging Face.
                _pendingChange += _pending ? diff : 0;
                return;
            }

            for (var j = 0; j < replacement.Length; j++)
            {
                var change = diff > 0 && j >= oldCount ? 1 : 0;
                if (diff < 0 && j == replacement.Length - 1)
                {
                    change = diff;
                }

                Push(replacement[j], change);
            }
        }

        private void Push(int codePoint, int change)
        {
            Commit();
            _pending = true;
            _pendingCodePoint = codePoint;
            _pendingChange = change;
        }

        private void Commit()
        {
            if (!_pending)
            {
                return;
            }

            _pending = false;
            if (_pendingChange > 0 || _cursor >= _end)
            {
                next.Add(_pendingCodePoint, _previous.Start, _previous.End);
                return;
            }

            if (_pendingChange == 0 && !char.IsSurrogate(_text[_cursor]))
            {
                // The usual case: one code point in, one out.
                next.Add(_pendingCodePoint, _cursor, _cursor + 1);
                _previous = (_cursor, _cursor + 1);
                _cursor++;
                return;
            }

            TextUnits.ReadRune(_text, _cursor, _end, out var consumed);
            next.Add(_pendingCodePoint, _cursor, _cursor + consumed);
            for (var skip = 1 - _pendingChange; skip > 0 && _cursor < _end; skip--)
            {
                TextUnits.ReadRune(_text, _cursor, _end, out consumed);
                _previous = (_cursor, _cursor + consumed);
                _cursor += consumed;
            }
        }

        private static int CodePoints(ReadOnlySpan<char> cluster)
        {
            var count = 0;
            for (var i = 0; i < cluster.Length; i++)
            {
                count += char.IsHighSurrogate(cluster[i]) && i + 1 < cluster.Length && char.IsLowSurrogate(cluster[i + 1]) ? 0 : 1;
            }

            return count;
        }
    }
}
