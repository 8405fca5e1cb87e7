using Bge.Core.Kernels;
using System.Runtime.CompilerServices;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>
/// Token vectors: word + position + token_type embeddings, then LayerNorm
/// (<c>embeddings.word_embeddings</c>, <c>embeddings.position_embeddings</c>, <c>embeddings.token_type_embeddings</c>,
/// <c>embeddings.LayerNorm</c>). Positions restart for each packed sequence, at the family's offset
/// (<see cref="EncoderConfig.PositionOffset"/>: 0 for BERT, <c>pad + 1</c> for XLM-R). Below fp32 the word table, most of
/// a small model's bytes (30522 × 384 floats: 47 MB), is held as bfloat16 and each looked-up row widened.
/// </summary>
internal sealed class EncoderEmbeddings(EncoderConfig config, float[]? word, ushort[]? wordBf16, float[] position, float[] tokenType, LayerNormalization layerNorm, SimdWidth simd)
{
    public static EncoderEmbeddings Load(Checkpoint weights, SimdWidth simd, Precision precision) => new(
        weights.Config,
        precision == Precision.Fp32 ? weights.Read(EncoderTensorNames.Embeddings[0]) : null,
        precision == Precision.Fp32 ? null : ReadBFloat16(weights, EncoderTensorNames.Embeddings[0]),
        weights.Read(EncoderTensorNames.Embeddings[1]),
        weights.Read(EncoderTensorNames.Embeddings[2]),
        LayerNormalization.Load(weights, "embeddings.LayerNorm", simd),
        simd);

    // A block of rows at a time: loading never holds the table as floats.
    private static ushort[] ReadBFloat16(Checkpoint weights, string name)
    {
        var table = new ushort[weights.Info(name).ElementCount];
        var block = new float[Math.Min(table.Length, 1 << 16)];
        for (long first = 0; first < table.Length; first += block.Length)
        {
            var part = block.AsSpan(0, (int)Math.Min(block.Length, table.Length - first));
            weights.CopyTo(name, first, part);
            for (var i = 0; i < part.Length; i++)
            {
                table[first + i] = Precisions.ToBFloat16(part[i]);
            }
        }

        return table;
    }

    // (T) ids, (T) types -> (T, H)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Forward(TokenBatch batch, Span<float> hidden)
    {
        var h = config.HiddenSize;
        fixed (float* output = hidden, words = word, positions = position, types = tokenType)
        fixed (ushort* narrow = wordBf16)
        {
            for (var b = 0; b < batch.Count; b++)
            {
                var start = batch.SequenceStarts[b];
                var counted = 0;
                for (var p = 0; p < batch.LengthOf(b); p++)
                {
                    int id = batch.Ids[start + p], type = batch.TypeIds[start + p];
                    var position = Position(id, p, ref counted);
                    var row = output + ((long)(start + p) * h);
                    var wordRow = words + ((long)id * h);
                    if (narrow != null)
                    {
                        // Widened in place: the row itself holds the word vector before the sums.
                        var source = narrow + ((long)id * h);
                        for (var i = 0; i < h; i++)
                        {
                            row[i] = Precisions.FromBFloat16(source[i]);
                        }

                        wordRow = row;
                    }

                    RowMath.Add(wordRow, positions + ((long)position * h), row, h, simd);
                    RowMath.Add(row, types + ((long)type * h), row, h, simd);
                }
            }
        }

        layerNorm.Forward(hidden, batch.TotalTokens);
    }

    // BERT: the token's index. RoBERTa family: transformers' create_position_ids_from_input_ids, a cumulative count
    // of non-padding tokens from pad + 1, with padding tokens (a literal <pad> in a text) at pad itself.
    private int Position(int id, int index, ref int counted)
    {
        if (config.PositionOffset == 0)
        {
            return index;
        }

        return id == config.PadTokenId ? config.PadTokenId : config.PositionOffset + counted++;
    }

    /// <summary>Refuses ids, token types or lengths the tables cannot serve, naming the sequence and token.</summary>
    public void Validate(TokenBatch batch)
    {
        for (var b = 0; b < batch.Count; b++)
        {
            var length = batch.LengthOf(b);
            if (length == 0 || length > config.MaxSequenceLength)
            {
                throw new ArgumentException($"sequence {b} has {length} tokens; the model takes 1 to {config.MaxSequenceLength}", nameof(batch));
            }

            for (var p = 0; p < length; p++)
            {
                int id = batch.Ids[batch.SequenceStarts[b] + p], type = batch.TypeIds[batch.SequenceStarts[b] + p];
                if ((uint)id >= (uint)config.VocabSize)
                {
                    throw new ArgumentException($"sequence {b}, token {p}: id {id} is outside the vocabulary of {config.VocabSize}", nameof(batch));
                }

                if ((uint)type >= (uint)config.TypeVocabSize)
                {
                    throw new ArgumentException($"sequence {b}, token {p}: token type {type} is outside 0..{config.TypeVocabSize - 1}", nameof(batch));
                }
            }
        }
    }
}
