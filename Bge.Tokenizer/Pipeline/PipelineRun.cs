using Bge.Tokenizer.Models;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.PreTokenizers;

namespace Bge.Tokenizer.Pipeline;

/// <summary>
/// One thread's pass of the pipeline over a text: added tokens split the raw text into segments; each segment is
/// normalized unit by unit into the pre-tokenizer, whose finished words go to the model. The pass stops once more
/// tokens than the limit exist, so a text that will be cut costs only the part kept.
/// </summary>
internal sealed class PipelineRun : IWordSink
{
    private readonly AddedTokens _added;
    private readonly ITokenModel _model;
    private readonly INormalizerRun _normalizer;
    private readonly WordBuffer _word;
    private TokenList _into = new();

    public PipelineRun(AddedTokens added, INormalizer normalizer, IPreTokenizer preTokenizer, ITokenModel model)
    {
        _added = added;
        _model = model;
        _word = new WordBuffer(model.WordCapacity);
        _normalizer = normalizer.Start(preTokenizer.Start(_word, this));
    }

    /// <summary>Tokens of the first text (reused).</summary>
    public TokenList First { get; } = new();

    /// <summary>Tokens of the second text of a pair (reused).</summary>
    public TokenList Second { get; } = new();

    /// <summary>Tokenizes <paramref name="text"/> into <paramref name="into"/>, stopping past <paramref name="limit"/> tokens; returns whether it cut.</summary>
    public bool Tokenize(string text, TokenList into, int limit)
    {
        into.Clear();
        _into = into;
        _word.Clear();
        for (var position = 0; position < text.Length && into.Count <= limit;)
        {
            var (start, end, id) = _added.FindNext(text, position);
            if (start > position)
            {
                Segment(text, position, start, limit);
            }

            if (id < 0 || into.Count > limit)
            {
                break;
            }

            into.Add(id, start, end);
            position = end;
        }

        if (into.Count > limit)
        {
            into.KeepFirst(limit);
            return true;
        }

        return false;
    }

    public void Emit(WordBuffer word) => _model.Tokenize(word, _into);

    private void Segment(string text, int start, int end, int limit)
    {
        _normalizer.Begin(start);
        for (var i = start; i < end && _into.Count <= limit;)
        {
            i = _normalizer.Next(text, i, end);
        }

        _normalizer.End();
    }
}
