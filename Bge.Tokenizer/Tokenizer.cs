using Bge.Tokenizer.Models;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.Pipeline;
using Bge.Tokenizer.PreTokenizers;
using Bge.Tokenizer.Processors;

namespace Bge.Tokenizer;

/// <summary>
/// Hugging Face's tokenization pipeline with its ids, for BERT (WordPiece) and XLM-RoBERTa (SentencePiece Unigram)
/// models alike: added tokens matched literally in the raw text, then the normalizer, the pre-tokenizer and the model
/// on the text between them, then the post-processor's template (<c>[CLS] a [SEP]</c>, <c>&lt;s&gt; a &lt;/s&gt;</c>, pairs)
/// with truncation to the maximum length. Tokenization stops as soon as the maximum is reached, so a megabyte of text
/// that will be cut costs no more than the part that is kept. Thread-safe.
/// </summary>
public sealed partial class Tokenizer
{
    private readonly AddedTokens _added;
    private readonly INormalizer _normalizer;
    private readonly IPreTokenizer _preTokenizer;
    private readonly ITokenModel _model;
    private readonly TemplateProcessor _template;
    private readonly ThreadLocal<PipelineRun> _runs;

    internal Tokenizer(AddedTokens added, INormalizer normalizer, IPreTokenizer preTokenizer, ITokenModel model, TemplateProcessor template, int maxLength, int? padId = null)
    {
        _added = added;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _template = template;
        if (maxLength <= template.AddedSingle)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"must leave room for a token besides the {template.AddedSingle} special tokens");
        }

        MaxLength = maxLength;
        PadId = padId ?? (TokenToId("[PAD]") ?? TokenToId("<pad>") ?? 0);
        VocabularySize = Math.Max(model.Count, added.MaxId + 1);
        _runs = new ThreadLocal<PipelineRun>(() => new PipelineRun(_added, _normalizer, _preTokenizer, _model));
    }

    /// <summary>Default maximum sequence length, special tokens included.</summary>
    public int MaxLength { get; }

    /// <summary>The padding token's id (what padded batches fill with).</summary>
    public int PadId { get; }

    /// <summary>Number of ids: the model's vocabulary and the added tokens.</summary>
    public int VocabularySize { get; }

    /// <summary>Special tokens the template adds around one text (2 for BERT and XLM-R).</summary>
    public int SpecialTokensPerText => _template.AddedSingle;

    /// <summary>Special tokens the template adds around a pair (3 for BERT, 4 for XLM-R).</summary>
    public int SpecialTokensPerPair => _template.AddedPair;

    /// <summary>The id of a token's text (an added token or a vocabulary entry), or null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _added.TryGetId(token, out var id) || _model.TryGetId(token, out id) ? id : null;
    }

    /// <summary>The text of an id, or null outside the vocabulary.</summary>
    public string? IdToToken(int id) => _added.IdToToken(id) ?? _model.IdToToken(id);

    /// <summary>Encodes one text with the template's special tokens, truncated to <paramref name="maxLength"/> tokens.</summary>
    /// <param name="text">Any string (empty, whitespace, lone surrogates and control characters included).</param>
    /// <param name="maxLength">Maximum tokens including the special tokens; the tokenizer's default when null.</param>
    /// <param name="side">Which end truncation keeps: the start (default) or, for <see cref="TruncationSide.Left"/>, the last tokens.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room besides the special tokens.</exception>
    public Encoding Encode(string text, int? maxLength = null, TruncationSide side = TruncationSide.Right)
    {
        ArgumentNullException.ThrowIfNull(text);
        var budget = Budget(maxLength, _template.AddedSingle);
        var run = _runs.Value!;
        bool truncated;
        if (side == TruncationSide.Right)
        {
            truncated = run.Tokenize(text, run.First, budget);
        }
        else
        {
            run.Tokenize(text, run.First, int.MaxValue);
            truncated = run.First.Count > budget;
            run.First.KeepLast(budget);
        }

        return _template.Assemble(run.First, null, truncated);
    }

    /// <summary>Encodes a pair with the template's special tokens and type ids (a query and a passage for a cross-encoder).</summary>
    /// <param name="first">The first text.</param>
    /// <param name="second">The second text.</param>
    /// <param name="maxLength">Maximum tokens including the special tokens; the tokenizer's default when null.</param>
    /// <param name="strategy">Which text is cut when the pair is too long.</param>
    /// <exception cref="TruncationException"><see cref="TruncationStrategy.OnlySecond"/> and the first text alone leaves no room.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room besides the special tokens.</exception>
    public Encoding EncodePair(string first, string second, int? maxLength = null, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var budget = Budget(maxLength, _template.AddedPair);
        var max = budget + _template.AddedPair;
        var run = _runs.Value!;
        run.TokenizeWholeWords(first, run.First, strategy == TruncationStrategy.LongestFirst ? max : int.MaxValue);
        run.TokenizeWholeWords(second, run.Second, max);
        var (n1, n2) = (run.First.Count, run.Second.Count);
        var (k1, k2) = strategy == TruncationStrategy.LongestFirst ? LongestFirst(n1, n2, budget) : OnlySecond(n1, n2, budget);
        run.First.KeepFirst(k1);
        run.Second.KeepFirst(k2);
        return _template.Assemble(run.First, run.Second, k1 < n1 || k2 < n2);
    }

    /// <summary>Encodes texts and packs them (see <see cref="TokenBatch"/>); <see cref="TokenBatch.ToPadded"/> gives padded arrays.</summary>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encodings = new Encoding[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            encodings[i] = Encode(texts[i] ?? throw new ArgumentNullException(nameof(texts), $"text {i} is null"), maxLength);
        }

        return new TokenBatch(encodings);
    }

    /// <summary>The tokens of a text as vocabulary entries, without special tokens or truncation.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var run = _runs.Value!;
        run.Tokenize(text, run.First, int.MaxValue);
        var tokens = new string[run.First.Count];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = IdToToken(run.First.Ids[i]) ?? "";
        }

        return tokens;
    }

    /// <summary>Joins token ids back into text: special tokens dropped, pieces glued as the model's decoder does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _model.Decode(ids.Where(id => !_added.IsSpecial(id))
            .Select(id => IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"the vocabulary has {VocabularySize} ids")));
    }

    /// <summary>Hugging Face's longest-first split of a pair's budget: the shorter side is kept whole when it fits in half.</summary>
    internal static (int First, int Second) LongestFirst(int n1, int n2, int budget)
    {
        if (n1 + n2 <= budget)
        {
            return (n1, n2);
        }

        var swap = n1 > n2;
        var (shorter, longer) = swap ? (n2, n1) : (n1, n2);
        longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if (shorter + longer > budget)
        {
            shorter = budget / 2;
            longer = shorter + (budget % 2);
        }

        return swap ? (longer, shorter) : (shorter, longer);
    }

    private static (int First, int Second) OnlySecond(int n1, int n2, int budget)
    {
        var excess = n1 + n2 - budget;
        if (excess <= 0)
        {
            return (n1, n2);
        }

        return n2 > excess ? (n1, n2 - excess)
            : throw new TruncationException($"Truncation error: Sequence to truncate too short to respect the provided max_length (the first text has {n1} tokens; {budget} fit beside the special tokens)");
    }

    private int Budget(int? maxLength, int specials)
    {
        var max = maxLength ?? MaxLength;
        if (max < specials + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), max, $"must leave room for at least one token besides the {specials} special tokens");
        }

        return max - specials;
    }
}
