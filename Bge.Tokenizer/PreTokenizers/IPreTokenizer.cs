using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.PreTokenizers;

/// <summary>
/// Splits normalized text into words. Immutable; <see cref="Start"/> gives a thread a stage that builds words in
/// a word buffer and hands each finished one to a word sink.
/// </summary>
internal interface IPreTokenizer
{
    /// <summary>A stage that receives normalized code points and emits words.</summary>
    ICodePointSink Start(WordBuffer word, IWordSink words);
}

/// <summary>No pre-tokenizer: each segment's normalized text is one word.</summary>
internal sealed class WholeSegment : IPreTokenizer
{
    public static WholeSegment Instance { get; } = new();

    public ICodePointSink Start(WordBuffer word, IWordSink words) => new Stage(word, words);

    private sealed class Stage(WordBuffer word, IWordSink words) : ICodePointSink
    {
        public void Begin(int segmentStart)
        {
        }

        public void Add(int codePoint, int start, int end) => word.Append(codePoint, start, end);

        public void End() => Words.Flush(word, words);
    }
}

/// <summary>Handing a finished word on.</summary>
internal static class Words
{
    public static void Flush(WordBuffer word, IWordSink words)
    {
        if (word.IsEmpty)
        {
            return;
        }

        words.Emit(word);
        word.Clear();
    }
}
