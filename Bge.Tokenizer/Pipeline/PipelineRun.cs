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
    private int _wordCap = int.MaxValue;
    private bool _capped;

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
        _wordCap = int.MaxValue;
        return Run(text, into, limit);
    }

    /// <summary>
    /// Tokenizes whole words until at least <paramref name="cap"/> tokens exist (all of them when fewer), as Hugging
    /// Face tokenizes each text of a pair before it splits the budget between them; its longest-first split sees
    /// these counts, so they must be the same (the word that crosses the cap is kept whole).
    /// </summary>
    public void TokenizeWholeWords(string text, TokenList into, int cap)
    {
        _wordCap = cap;
        Run(text, into, int.MaxValue);
    }

    private bool Run(string text, TokenList into, int limit)
    {
        into.Clear();
        _into = into;
        _word.Clear();
        _capped = false;
        for (var position = 0; position < text.Length && into.Count <= limit && !_capped;)
        {
            var (start, end, id) = _added.FindNext(text, position);
            if (start > position)
            {
                Segment(text, position, start, limit);
            }

            if (id < 0 || into.Count > limit || _capped)
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

    public void Emit(WordBuffer word)
    {
        if (_capped)
        {
            return;
        }

        _model.Tokenize(word, _into);
        _capped = _into.Count >= _wordCap;
    }

    private void Segment(string text, int start, int end, int limit)
    {
        _normalizer.Begin(start);
        for (var i = start; i < end && _into.Count <= limit && !_capped;)
        {
            i = _normalizer.Next(text, i, end);
        }

        if (!_capped)
        {
            _normalizer.End();
        }
    }
}
