namespace Bge.Tokenizer;

/// <summary>How a padded batch is shaped.</summary>
public enum Padding
{
    /// <summary>Pad every row to the longest sequence of the batch.</summary>
    Longest,

    /// <summary>Pad every row to a fixed length.</summary>
    Fixed,
}

/// <summary>
/// Several encoded texts packed end to end, with no padding: token <c>t</c> of sequence <c>b</c> is at
/// <c>SequenceStarts[b] + t</c>, and <c>SequenceStarts[Count]</c> is the total token count.
/// Padded views exist only for callers (or other engines) that need <c>[batch × length]</c> tensors.
/// </summary>
public sealed class TokenBatch
{
    /// <summary>Packs encodings.</summary>
    public TokenBatch(IReadOnlyList<Encoding> encodings)
    {
        ArgumentNullException.ThrowIfNull(encodings);
        Encodings = encodings;
        SequenceStarts = new int[encodings.Count + 1];
        for (var b = 0; b < encodings.Count; b++)
        {
            SequenceStarts[b + 1] = SequenceStarts[b] + encodings[b].Length;
        }

        Ids = new int[TotalTokens];
        TypeIds = new int[TotalTokens];
        for (var b = 0; b < encodings.Count; b++)
        {
            encodings[b].Ids.CopyTo(Ids, SequenceStarts[b]);
            encodings[b].TypeIds.CopyTo(TypeIds, SequenceStarts[b]);
        }
    }

    /// <summary>A batch of raw id sequences (token types 0 unless given), for callers that tokenize elsewhere.</summary>
    /// <exception cref="ArgumentException">A type-id sequence's length differs from its id sequence's.</exception>
    public static TokenBatch FromIds(IReadOnlyList<int[]> ids, IReadOnlyList<int[]>? typeIds = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return new TokenBatch(ids.Select((sequence, b) =>
        {
            var types = typeIds?[b] ?? new int[sequence.Length];
            return types.Length == sequence.Length
                ? new Encoding(sequence, types, new (int, int)[sequence.Length], new bool[sequence.Length], false)
                : throw new ArgumentException($"sequence {b} has {sequence.Length} ids but {types.Length} type ids", nameof(typeIds));
        }).ToList());
    }

    /// <summary>The encodings, in input order.</summary>
    public IReadOnlyList<Encoding> Encodings { get; }

    /// <summary>Number of sequences.</summary>
    public int Count => Encodings.Count;

    /// <summary>Start of each sequence in the packed arrays, plus the total at the end.</summary>
    public int[] SequenceStarts { get; }

    /// <summary>All token ids, end to end.</summary>
    public int[] Ids { get; }

    /// <summary>All token type ids, end to end.</summary>
    public int[] TypeIds { get; }

    /// <summary>Total number of tokens.</summary>
    public int TotalTokens => SequenceStarts[^1];

    /// <summary>Length of the longest sequence.</summary>
    public int MaxLength => Encodings.Count == 0 ? 0 : Encodings.Max(e => e.Length);

    /// <summary>Length of sequence <paramref name="index"/>.</summary>
    public int LengthOf(int index) => SequenceStarts[index + 1] - SequenceStarts[index];

    /// <summary>The batch as row-major <c>[Count × length]</c> arrays, padded with <paramref name="padId"/> and mask 0.</summary>
    /// <param name="padding">Pad to the longest sequence, or to <paramref name="length"/>.</param>
    /// <param name="padId">The [PAD] id.</param>
    /// <param name="length">The fixed length (for <see cref="Padding.Fixed"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A sequence is longer than the fixed length.</exception>
    public PaddedBatch ToPadded(Padding padding, int padId, int length = 0)
    {
        var longest = MaxLength;
        var width = padding == Padding.Longest ? longest : length;
        if (padding == Padding.Fixed && longest > width)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a sequence of {longest} tokens does not fit a fixed length of {length}");
        }

        var ids = new int[Count * width];
        var mask = new int[Count * width];
        var types = new int[Count * width];
        for (var b = 0; b < Count; b++)
        {
            var row = b * width;
            Array.Fill(ids, padId, row, width);
            Ids.AsSpan(SequenceStarts[b], LengthOf(b)).CopyTo(ids.AsSpan(row));
            TypeIds.AsSpan(SequenceStarts[b], LengthOf(b)).CopyTo(types.AsSpan(row));
            mask.AsSpan(row, LengthOf(b)).Fill(1);
        }

        return new PaddedBatch(Count, width, ids, mask, types);
    }
}

/// <summary>A batch as padded, row-major <c>[BatchSize × SequenceLength]</c> arrays.</summary>
/// <param name="BatchSize">Rows.</param>
/// <param name="SequenceLength">Columns.</param>
/// <param name="InputIds">Token ids, [PAD] after each sequence.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="TokenTypeIds">Token type ids, 0 on padding.</param>
public sealed record PaddedBatch(int BatchSize, int SequenceLength, int[] InputIds, int[] AttentionMask, int[] TokenTypeIds);
