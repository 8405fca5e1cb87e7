namespace Bge.Core.Compression;

/// <summary>
/// sentence-transformers' <c>quantize_embeddings</c>: float embeddings to int8/uint8 by per-dimension ranges, or to
/// packed sign bits. The arithmetic is numpy's in float32 (subtract, divide, subtract 128, truncate toward zero), so
/// values within the ranges give the very integers it gives. Where numpy's cast is undefined (a value outside the
/// calibration ranges, a dimension whose range is a single point) this clamps to the form's limits (NaN to its zero).
/// </summary>
public static class EmbeddingQuantizer
{
    /// <summary>Quantizes each row of <paramref name="embeddings"/>.</summary>
    /// <param name="embeddings">The float embeddings.</param>
    /// <param name="form">The integer form.</param>
    /// <param name="ranges">For int8/uint8: the calibration ranges; the embeddings' own when null. Ignored by the binary forms.</param>
    /// <exception cref="ArgumentException">The ranges are of another dimension, or int8/uint8 is asked of no embeddings without ranges.</exception>
    public static QuantizedEmbeddings Quantize(EmbeddingMatrix embeddings, VectorQuantization form, QuantizationRanges? ranges = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var dimension = embeddings.Columns;
        if (form is VectorQuantization.Binary or VectorQuantization.UBinary)
        {
            var bytes = (dimension + 7) / 8;
            var packed = new byte[embeddings.Rows * bytes];
            for (var r = 0; r < embeddings.Rows; r++)
            {
                PackSigns(embeddings.Row(r), packed.AsSpan(r * bytes, bytes), form == VectorQuantization.Binary);
            }

            return new QuantizedEmbeddings(form, packed, embeddings.Rows, dimension, bytes);
        }

        if (form is not (VectorQuantization.Int8 or VectorQuantization.UInt8))
        {
            throw new ArgumentOutOfRangeException(nameof(form), form, "not a VectorQuantization");
        }

        ranges ??= embeddings.Rows > 0 ? QuantizationRanges.From(embeddings) : null;
        if (ranges is not null && ranges.Dimension != dimension)
        {
            throw new ArgumentException($"the calibration ranges have {ranges.Dimension} dimensions, the embeddings {dimension}", nameof(ranges));
        }

        var codes = new byte[embeddings.Rows * dimension];
        if (ranges is not null)
        {
            for (var r = 0; r < embeddings.Rows; r++)
            {
                Codes(embeddings.Row(r), ranges.Min, ranges.Steps, codes.AsSpan(r * dimension, dimension), form == VectorQuantization.Int8);
            }
        }

        return new QuantizedEmbeddings(form, codes, embeddings.Rows, dimension, dimension);
    }

    // (x − min) / step [− 128], truncated toward zero as numpy's astype does, clamped where numpy is undefined.
    private static void Codes(ReadOnlySpan<float> row, float[] min, float[] steps, Span<byte> codes, bool signed)
    {
        for (var i = 0; i < row.Length; i++)
        {
            var level = (row[i] - min[i]) / steps[i];
            if (signed)
            {
                var value = level - 128f;
                codes[i] = (byte)(sbyte)(float.IsNaN(value) ? 0 : MathF.Truncate(Math.Clamp(value, -128f, 127f)));
            }
            else
            {
                codes[i] = (byte)(float.IsNaN(level) ? 0 : MathF.Truncate(Math.Clamp(level, 0f, 255f)));
            }
        }
    }

    /// <summary>
    /// One embedding's sign bits as numpy's <c>packbits(x &gt; 0)</c> lays them out: bit 7 of byte 0 is dimension 0,
    /// the last byte zero-padded; <paramref name="signed"/> subtracts 128 from each byte, as the "binary" form does.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="packed"/> is not (dimensions + 7) / 8 bytes long.</exception>
    public static void PackSigns(ReadOnlySpan<float> row, Span<byte> packed, bool signed)
    {
        if (packed.Length != (row.Length + 7) / 8)
        {
            throw new ArgumentException($"{row.Length} dimensions pack into {(row.Length + 7) / 8} bytes, not {packed.Length}", nameof(packed));
        }

        packed.Clear();
        for (var i = 0; i < row.Length; i++)
        {
            if (row[i] > 0)
            {
                packed[i >> 3] |= (byte)(0x80 >> (i & 7));
            }
        }

        if (signed)
        {
            foreach (ref var b in packed)
            {
                b = (byte)(b - 128);
            }
        }
    }
}
