using Bge.Core.Kernels;
using System.Runtime.CompilerServices;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>
/// Token vectors: word + position + token_type embeddings, then LayerNorm
/// (<c>embeddings.word_embeddings</c>, <c>embeddings.position_embeddings</c>, <c>embeddings.token_type_embeddings</c>,
/// <c>embeddings.LayerNorm</c>). Positions restart at 0 for each packed sequence. Below fp32 the word table, most of
/// a small model's bytes (30522 × 384 floats: 47 MB), is held as bfloat16 and each looked-up row widened.
/// </summary>
internal sealed class BertEmbeddings(BertConfig config, float[]? word, ushort[]? wordBf16, float[] position, float[] tokenType, LayerNormalization layerNorm, SimdWidth simd)
{
    private const string WordName = "embeddings.word_embeddings.weight";

    public static BertEmbeddings Load(BertWeights weights, SimdWidth simd, Precision precision) => new(
        weights.Config,
        precision == Precision.Fp32 ? weights.Read(WordName) : null,
        precision == Precision.Fp32 ? null : ReadBFloat16(weights, WordName),
        weights.Read("embeddings.position_embeddings.weight"),
        weights.Read("embeddings.token_type_embeddings.weight"),
        LayerNormalization.Load(weights, "embeddings.LayerNorm", simd),
        simd);

    // A block of rows at a time: loading never holds the table as floats.
    private static ushort[] ReadBFloat16(BertWeights weights, string name)
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
        var widened = wordBf16 is null ? [] : new float[h];
        fixed (float* output = hidden, words = word, positions = position, types = tokenType, wide = widened)
        fixed (ushort* narrow = wordBf16)
        {
            for (var b = 0; b < batch.Count; b++)
            {
                var start = batch.SequenceStarts[b];
                for (var p = 0; p < batch.LengthOf(b); p++)
                {
                    int id = batch.Ids[start + p], type = batch.TypeIds[start + p];
                    var row = output + ((long)(start + p) * h);
                    var wordRow = words + ((long)id * h);
                    if (narrow != null)
                    {
                        var source = narrow + ((long)id * h);
                        for (var i = 0; i < h; i++)
                        {
                            wide[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
                        }

                        wordRow = wide;
                    }

                    RowMath.Add(wordRow, positions + ((long)p * h), row, h, simd);
                    RowMath.Add(row, types + ((long)type * h), row, h, simd);
                }
            }
        }

        layerNorm.Forward(hidden, batch.TotalTokens);
    }

    /// <summary>Refuses ids, token types or lengths the tables cannot serve, naming the sequence and token.</summary>
    public void Validate(TokenBatch batch)
    {
        for (var b = 0; b < batch.Count; b++)
        {
            var length = batch.LengthOf(b);
            if (length == 0 || length > config.MaxPositionEmbeddings)
            {
                throw new ArgumentException($"sequence {b} has {length} tokens; the model takes 1 to {config.MaxPositionEmbeddings}", nameof(batch));
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
