namespace Bge.Tokenizer;

/// <summary>One encoded text (or pair): ids with their token types, offsets and special-token marks, specials included.</summary>
/// <param name="Ids">Token ids, the post-processor's special tokens included (<c>[CLS] … [SEP]</c>, <c>&lt;s&gt; … &lt;/s&gt;</c>).</param>
/// <param name="TypeIds">Token type (segment) ids, as the template gives them (BERT: 1 for the second text of a pair; XLM-R: all 0).</param>
/// <param name="Offsets">Per token, the [start, end) UTF-16 range of the input it came from; (0, 0) for the template's special tokens.</param>
/// <param name="SpecialTokensMask">Per token, whether the post-processor added it (Hugging Face's <c>special_tokens_mask</c>).</param>
/// <param name="Truncated">Whether tokens were cut to respect the maximum length.</param>
public sealed record Encoding(int[] Ids, int[] TypeIds, (int Start, int End)[] Offsets, bool[] SpecialTokensMask, bool Truncated)
{
    /// <summary>Number of tokens.</summary>
    public int Length => Ids.Length;
}
