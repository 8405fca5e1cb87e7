namespace Bge.Core.Search;

/// <summary>
/// A quantized index's resident codes, fixed-size rows held in blocks of at most 1 GiB: 10 million int8 codes of 384
/// bytes are 3.8 GB, more than one array may hold. Each block holds whole rows, so a row is always one span.
/// </summary>
internal sealed class CodeRows
{
    private readonly byte[][] _blocks;

    public CodeRows(int count, int bytesPerRow, int blockBytes = 1 << 30)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerRow, 1);
        (Count, BytesPerRow) = (count, bytesPerRow);
        RowsPerBlock = Math.Max(1, blockBytes / bytesPerRow);
        var blocks = (int)(((long)count + RowsPerBlock - 1) / RowsPerBlock);
        _blocks = new byte[blocks][];
        for (var b = 0; b < blocks; b++)
        {
            _blocks[b] = new byte[Math.Min(RowsPerBlock, count - (b * RowsPerBlock)) * bytesPerRow];
        }
    }

    public int Count { get; }

    public int BytesPerRow { get; }

    public int RowsPerBlock { get; }

    /// <summary>The blocks in order; block b holds rows b × <see cref="RowsPerBlock"/> onward.</summary>
    public IReadOnlyList<byte[]> Blocks => _blocks;

    public Span<byte> Row(int index) => _blocks[index / RowsPerBlock].AsSpan(index % RowsPerBlock * BytesPerRow, BytesPerRow);
}
