using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Normalizers;

/// <summary>
/// A normalizer that reads the input text itself, one unit at a time (a code point for BERT, a grapheme cluster
/// for <see cref="PrecompiledNormalizer"/>). Immutable; <see cref="Start"/> gives a thread its own reader.
/// </summary>
internal interface INormalizer
{
    /// <summary>The component's name as tokenizer.json spells it.</summary>
    string Name { get; }

    /// <summary>A reader that pushes normalized code points into <paramref name="next"/>.</summary>
    INormalizerRun Start(ICodePointSink next);
}

/// <summary>One thread's reader of a <see cref="INormalizer"/>.</summary>
internal interface INormalizerRun
{
    /// <summary>A segment starts at input index <paramref name="segmentStart"/>.</summary>
    void Begin(int segmentStart);

    /// <summary>Normalizes the unit at <paramref name="index"/> (never reading at or past <paramref name="end"/>); returns the index after it.</summary>
    int Next(string text, int index, int end);

    /// <summary>The segment ended.</summary>
    void End();
}

/// <summary>
/// A normalizer that works on the normalized stream, after the one that reads the text (Replace, Strip). Immutable;
/// <see cref="Chain"/> gives a thread its own stage.
/// </summary>
internal interface IStreamNormalizer
{
    /// <summary>A stage that transforms code points and passes them to <paramref name="next"/>.</summary>
    ICodePointSink Chain(ICodePointSink next);
}

/// <summary>No text-reading normalizer: each code point as it is (a lone surrogate reads as U+FFFD, as a Rust string holds it).</summary>
internal sealed class IdentityNormalizer : INormalizer
{
    public static IdentityNormalizer Instance { get; } = new();

    public string Name => "none";

    public INormalizerRun Start(ICodePointSink next) => new Run(next);

    private sealed class Run(ICodePointSink next) : INormalizerRun
    {
        public void Begin(int segmentStart) => next.Begin(segmentStart);

        public int Next(string text, int index, int end)
        {
            var rune = TextUnits.ReadRune(text, index, end, out var consumed);
            next.Add(rune.Value, index, index + consumed);
            return index + consumed;
        }

        public void End() => next.End();
    }
}

/// <summary>A text-reading normalizer followed by stream normalizers, as a tokenizer.json <c>Sequence</c> lists them.</summary>
internal sealed class NormalizerSequence(INormalizer head, IReadOnlyList<IStreamNormalizer> stages) : INormalizer
{
    public string Name => "Sequence";

    public INormalizerRun Start(ICodePointSink next)
    {
        for (var s = stages.Count - 1; s >= 0; s--)
        {
            next = stages[s].Chain(next);
        }

        return head.Start(next);
    }
}
