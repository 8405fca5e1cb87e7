using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Normalizers;

/// <summary>
/// Hugging Face's <c>Replace</c> for the patterns this reads: one character (a <c>String</c> pattern: each
/// occurrence replaced), or a run of one character (a <c>Regex</c> pattern <c>c+</c> or <c>c{n,}</c> with n of 1 or
/// 2, as XLM-R's <c>" {2,}"</c> → <c>" "</c>: each run replaced once). As in Hugging Face, every replacement code point
/// takes the input range of the last code point it replaces.
/// </summary>
/// <param name="Target">The character replaced.</param>
/// <param name="MinimumRun">For a run pattern, the shortest run replaced (1 or 2); 0 for a single-character pattern.</param>
/// <param name="Content">The replacement, as code points.</param>
internal sealed record ReplaceNormalizer(int Target, int MinimumRun, int[] Content) : IStreamNormalizer
{
    public ICodePointSink Chain(ICodePointSink next) => new Stage(this, next);

    private sealed class Stage(ReplaceNormalizer replace, ICodePointSink next) : ICodePointSink
    {
        private int _run;
        private (int Start, int End) _first;
        private (int Start, int End) _last;

        public void Begin(int segmentStart)
        {
            _run = 0;
            next.Begin(segmentStart);
        }

        public void Add(int codePoint, int start, int end)
        {
            if (codePoint != replace.Target)
            {
                FlushRun();
                next.Add(codePoint, start, end);
                return;
            }

            if (replace.MinimumRun == 0)
            {
                Emit(start, end);
                return;
            }

            _first = _run == 0 ? (start, end) : _first;
            _last = (start, end);
            _run++;
        }

        public void End()
        {
            FlushRun();
            next.End();
        }

        private void FlushRun()
        {
            if (_run == 0)
            {
                return;
            }

            if (_run >= replace.MinimumRun)
            {
                Emit(_last.Start, _last.End);
            }
            else
            {
                next.Add(replace.Target, _first.Start, _first.End);
            }

            _run = 0;
        }

        private void Emit(int start, int end)
        {
            foreach (var c in replace.Content)
            {
                next.Add(c, start, end);
            }
        }
    }
}

/// <summary>Hugging Face's <c>Strip</c>: drops whitespace at the start and/or end of each segment's normalized text.</summary>
/// <param name="Left">Strip leading whitespace.</param>
/// <param name="Right">Strip trailing whitespace.</param>
internal sealed record StripNormalizer(bool Left, bool Right) : IStreamNormalizer
{
    public ICodePointSink Chain(ICodePointSink next) => new Stage(this, next);

    private sealed class Stage(StripNormalizer strip, ICodePointSink next) : ICodePointSink
    {
        private readonly List<(int CodePoint, int Start, int End)> _held = [];
        private bool _seenText;

        public void Begin(int segmentStart)
        {
            _held.Clear();
            _seenText = false;
            next.Begin(segmentStart);
        }

        public void Add(int codePoint, int start, int end)
        {
            var space = UnicodeClasses.IsWhitespace(new System.Text.Rune(codePoint));
            if (space && ((strip.Left && !_seenText) || strip.Right))
            {
                if (_seenText || !strip.Left)
                {
                    _held.Add((codePoint, start, end));
                }

                return;
            }

            _seenText = true;
            foreach (var (c, s, e) in _held)
            {
                next.Add(c, s, e);
            }

            _held.Clear();
            next.Add(codePoint, start, end);
        }

        public void End()
        {
            _held.Clear();
            next.End();
        }
    }
}
