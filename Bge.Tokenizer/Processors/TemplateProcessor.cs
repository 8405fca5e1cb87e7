using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Processors;

/// <summary>One item of a template: a sequence ($A = 0, $B = 1) or special ids (-1), with its type id.</summary>
/// <param name="Sequence">0 for the first text, 1 for the second, -1 for special tokens.</param>
/// <param name="Ids">The special token's ids (empty for a sequence).</param>
/// <param name="TypeId">The type id of every token of the item.</param>
internal sealed record TemplateItem(int Sequence, int[] Ids, int TypeId)
{
    public static TemplateItem A(int typeId = 0) => new(0, [], typeId);

    public static TemplateItem B(int typeId) => new(1, [], typeId);

    public static TemplateItem Special(int id, int typeId = 0) => new(-1, [id], typeId);
}

/// <summary>
/// Hugging Face's post-processors as one template (TemplateProcessing; BertProcessing and RobertaProcessing read into
/// it): where the special tokens go around one text or a pair, and the type ids. The number of special tokens a
/// template adds is what truncation leaves room for.
/// </summary>
internal sealed class TemplateProcessor
{
    private readonly TemplateItem[] _single;
    private readonly TemplateItem[] _pair;

    public TemplateProcessor(IReadOnlyList<TemplateItem> single, IReadOnlyList<TemplateItem> pair)
    {
        _single = [.. single];
        _pair = [.. pair];
        AddedSingle = _single.Sum(i => i.Ids.Length);
        AddedPair = _pair.Sum(i => i.Ids.Length);
    }

    /// <summary>No post-processor: the tokens as they are; a pair is the first text then the second (type 1).</summary>
    public static TemplateProcessor None { get; } = new([TemplateItem.A()], [TemplateItem.A(), TemplateItem.B(1)]);

    /// <summary>Special tokens added around one text.</summary>
    public int AddedSingle { get; }

    /// <summary>Special tokens added around a pair.</summary>
    public int AddedPair { get; }

    /// <summary>BERT's <c>[CLS] A [SEP]</c> / <c>[CLS] A [SEP] B [SEP]</c>, the second text and its separator of type 1.</summary>
    public static TemplateProcessor Bert(int cls, int sep) => new(
        [TemplateItem.Special(cls), TemplateItem.A(), TemplateItem.Special(sep)],
        [TemplateItem.Special(cls), TemplateItem.A(), TemplateItem.Special(sep), TemplateItem.B(1), TemplateItem.Special(sep, 1)]);

    /// <summary>RoBERTa's <c>&lt;s&gt; A &lt;/s&gt;</c> / <c>&lt;s&gt; A &lt;/s&gt; &lt;/s&gt; B &lt;/s&gt;</c>, all of type 0.</summary>
    public static TemplateProcessor Roberta(int cls, int sep) => new(
        [TemplateItem.Special(cls), TemplateItem.A(), TemplateItem.Special(sep)],
        [TemplateItem.Special(cls), TemplateItem.A(), TemplateItem.Special(sep), TemplateItem.Special(sep), TemplateItem.B(0), TemplateItem.Special(sep)]);

    /// <summary>Lays the tokens of one text (<paramref name="second"/> null) or a pair into the template.</summary>
    public Encoding Assemble(TokenList first, TokenList? second, bool truncated)
    {
        var template = second is null ? _single : _pair;
        var length = first.Count + (second?.Count ?? 0) + (second is null ? AddedSingle : AddedPair);
        var ids = new int[length];
        var types = new int[length];
        var offsets = new (int Start, int End)[length];
        var special = new bool[length];
        var at = 0;
        foreach (var item in template)
        {
            if (item.Sequence < 0)
            {
                item.Ids.CopyTo(ids, at);
                types.AsSpan(at, item.Ids.Length).Fill(item.TypeId);
                special.AsSpan(at, item.Ids.Length).Fill(true);
                at += item.Ids.Length;
                continue;
            }

            var tokens = item.Sequence == 0 ? first : second!;
            tokens.Ids.CopyTo(ids.AsSpan(at));
            tokens.Offsets.CopyTo(offsets.AsSpan(at));
            types.AsSpan(at, tokens.Count).Fill(item.TypeId);
            at += tokens.Count;
        }

        return new Encoding(ids, types, offsets, special, truncated);
    }
}
