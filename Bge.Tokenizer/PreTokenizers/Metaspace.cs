using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.PreTokenizers;

/// <summary>When <see cref="Metaspace"/> puts its replacement character before a segment.</summary>
internal enum PrependScheme
{
    /// <summary>Before every segment that does not already start with it.</summary>
    Always,

    /// <summary>Only before a segment that starts the input.</summary>
    First,

    /// <summary>Never.</summary>
    Never,
}

/// <summary>
/// Hugging Face's Metaspace: spaces become <see cref="Replacement"/> (▁), which is prepended to a segment as
/// <see cref="Scheme"/> says (taking the range of the segment's first code point), and, with <see cref="Split"/>,
/// each ▁ starts a new word.
/// </summary>
/// <param name="Replacement">The character that stands for a space.</param>
/// <param name="Scheme">When to prepend it.</param>
/// <param name="Split">Whether each replacement starts a new word.</param>
internal sealed record Metaspace(int Replacement, PrependScheme Scheme, bool Split) : IPreTokenizer
{
    /// <summary>sentencepiece's whitespace mark, U+2581.</summary>
    public const char DefaultReplacement = '\u2581';

    public ICodePointSink Start(WordBuffer word, IWordSink words) => new Stage(this, word, words);

    private sealed class Stage(Metaspace metaspace, WordBuffer word, IWordSink words) : ICodePointSink
    {
        private bool _first;
        private bool _prepend;

        public void Begin(int segmentStart)
        {
            _first = true;
            _prepend = metaspace.Scheme == PrependScheme.Always || (metaspace.Scheme == PrependScheme.First && segmentStart == 0);
        }

        public void Add(int codePoint, int start, int end)
        {
            var mark = metaspace.Replacement;
            if (codePoint == ' ')
            {
                codePoint = mark;
            }

            if (_first)
            {
                _first = false;
                if (_prepend && codePoint != mark)
                {
                    word.Append(mark, start, end);
                }
            }

            if (metaspace.Split && codePoint == mark)
            {
                Words.Flush(word, words);
            }

            word.Append(codePoint, start, end);
        }

        public void End() => Words.Flush(word, words);
    }
}
