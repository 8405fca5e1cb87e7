namespace Bge.Tokenizer.Pipeline;

/// <summary>
/// A stage that receives normalized text one code point at a time, each with the [start, end) UTF-16 range of the
/// input it came from, segment by segment (a segment is the text between two added tokens). Stages keep state
/// across calls, so each thread has its own chain.
/// </summary>
internal interface ICodePointSink
{
    /// <summary>A segment starts at input index <paramref name="segmentStart"/>.</summary>
    void Begin(int segmentStart);

    /// <summary>The next code point of the segment.</summary>
    void Add(int codePoint, int start, int end);

    /// <summary>The segment ended: flush what is held back.</summary>
    void End();
}

/// <summary>Receives each finished word from a pre-tokenizer.</summary>
internal interface IWordSink
{
    /// <summary>Takes a finished word; the caller clears it afterwards.</summary>
    void Emit(WordBuffer word);
}
