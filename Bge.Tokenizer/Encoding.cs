namespace Bge.Tokenizer;

/// <summary>One encoded text (or pair): ids with their token types and character offsets, specials included.</summary>
/// <param name="Ids">Token ids, <c>[CLS] … [SEP]</c>.</param>
/// <param name="TypeIds">Token type (segment) ids: 0 for the first text, 1 for the second of a pair.</param>
/// <param name="Offsets">Per token, the [start, end) UTF-16 range of the input it came from; (0, 0) for added specials.</param>
/// <param name="Truncated">Whether tokens were cut to respect the maximum length.</param>
public sealed record Encoding(int[] Ids, int[] TypeIds, (int Start, int End)[] Offsets, bool Truncated)
{
    /// <summary>Number of tokens.</summary>
    public int Length => Ids.Length;
}
