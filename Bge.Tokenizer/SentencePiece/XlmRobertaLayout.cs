using Bge.Tokenizer.Models;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.PreTokenizers;
using Bge.Tokenizer.Processors;

namespace Bge.Tokenizer.SentencePiece;

/// <summary>
/// Builds from a sentencepiece model the tokenizer transformers' XLMRobertaConverter writes as tokenizer.json:
/// fairseq's ids (<c>&lt;s&gt;</c> 0, <c>&lt;pad&gt;</c> 1, <c>&lt;/s&gt;</c> 2, <c>&lt;unk&gt;</c> 3, piece k ≥ 3 → k + 1,
/// <c>&lt;mask&gt;</c> last), the Precompiled normalizer then <c>" {2,}"</c> → <c>" "</c>, Metaspace, Unigram and the
/// template <c>&lt;s&gt; A &lt;/s&gt;</c> / <c>&lt;s&gt; A &lt;/s&gt; &lt;/s&gt; B &lt;/s&gt;</c>, so both files give the same ids.
/// </summary>
internal static class XlmRobertaLayout
{
    private static readonly string[] Specials = ["<s>", "<pad>", "</s>", "<unk>"];

    /// <summary>The tokenizer of a model in XLM-R's layout.</summary>
    /// <param name="model">The parsed .model.</param>
    /// <param name="source">The file, for messages.</param>
    /// <param name="config">tokenizer_config.json's added tokens (flags such as <c>&lt;mask&gt;</c>'s lstrip), when present.</param>
    /// <param name="maxLength">Default maximum length.</param>
    /// <exception cref="TokenizerFormatException">The model is not a Unigram model in sentencepiece's usual layout.</exception>
    public static Tokenizer Build(ModelProto model, string source, TokenizerConfig config, int maxLength)
    {
        if (model.ModelType != ModelProto.Unigram)
        {
            throw new TokenizerFormatException(source, $"sentencepiece model type {model.ModelType} is not supported (Unigram, 1, is)");
        }

        if (model.ByteFallback)
        {
            throw new TokenizerFormatException(source, "sentencepiece byte_fallback is not supported");
        }

        var p = model.Pieces;
        if (p.Count < 3 || p[0].Type != PieceType.Unknown || p[1].Type != PieceType.Control || p[2].Type != PieceType.Control)
        {
            throw new TokenizerFormatException(source, "the first three pieces are not <unk>, <s>, </s> (the layout XLM-R's ids assume)");
        }

        var pieces = new List<string>(Specials);
        var scores = new List<double> { 0, 0, 0, 0 };
        for (var k = 3; k < p.Count; k++)
        {
            pieces.Add(p[k].Text);
            scores.Add(p[k].Score);
        }

        pieces.Add("<mask>");
        scores.Add(0);
        var maskId = pieces.Count - 1;
        Unigram unigram;
        try
        {
            unigram = new Unigram(pieces, scores, 3);
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerFormatException(source, e.Message, innerException: e);
        }

        var added = config.AddedTokens?.ToList() ?? [];
        if (added.Count == 0)
        {
            added.AddRange(Specials.Select((s, id) => new AddedToken(s, id)));
            added.Add(config.MaskToken is { } mask ? mask with { Id = maskId } : new AddedToken("<mask>", maskId, LeftStrip: true));
        }

        INormalizer head = model.PrecompiledCharsMap.Length == 0 ? IdentityNormalizer.Instance : new PrecompiledNormalizer(Charsmap(model, source));
        IStreamNormalizer[] stages = model.RemoveExtraWhitespaces ? [new ReplaceNormalizer(' ', 2, [' '])] : [];
        var metaspace = new Metaspace(Metaspace.DefaultReplacement, model.AddDummyPrefix ? PrependScheme.Always : PrependScheme.Never, Split: true);
        var pad = config.PadToken is { } padToken && added.Find(t => t.Content == padToken) is { } padEntry ? padEntry.Id : 1;
        return new Tokenizer(new AddedTokens(added), new NormalizerSequence(head, stages), metaspace, unigram, TemplateProcessor.Roberta(0, 2), maxLength, pad);
    }

    private static PrecompiledCharsMap Charsmap(ModelProto model, string source)
    {
        try
        {
            return PrecompiledCharsMap.Parse(model.PrecompiledCharsMap);
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerFormatException(source, "normalizer_spec.precompiled_charsmap: " + e.Message, innerException: e);
        }
    }
}
