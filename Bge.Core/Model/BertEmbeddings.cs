using Bge.Core.Kernels;
using System.Runtime.CompilerServices;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>
/// Token vectors: word + position + token_type embeddings, then LayerNorm
/// (<c>embeddings.word_embeddings</c>, <c>embeddings.position_embeddings</c>, <c>embeddings.token_type_embeddings</c>,
/// <c>embeddings.LayerNorm</c>). Positions restart at 0 for each packed sequence.
/// </summary>
internal sealed class BertEmbeddings(BertConfig config, float[] word, float[] position, float[] tokenType, LayerNormalization layerNorm, SimdWidth simd)
{
    public static BertEmbeddings Load(BertWeights weights, SimdWidth simd) => new(
        weights.Config,
        weights.Read("embeddings.word_embeddings.weight"),
        weights.Read("embeddings.position_embeddings.weight"),
        weights.Read("embeddings.token_type_embeddings.weight"),
        LayerNormalization.Load(weights, "embeddings.LayerNorm", simd),
        simd);

    // (T) ids, (T) types -> (T, H)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Forward(TokenBatch batch, Span<float> hidden)
    {
        var h = config.HiddenSize;
        fixed (float* output = hidden, words = word, positions = position, types = tokenType)
        {
            for (var b = 0; b < batch.Count; b++)
            {
                var start = batch.SequenceStarts[b];
                for (var p = 0; p < batch.LengthOf(b); p++)
                {
                    int id = batch.Ids[start + p], type = batch.TypeIds[start + p];
                    var row = output + ((long)(start + p) * h);
                    RowMath.Add(words + ((long)id * h), positions + ((long)p * h), row, h, simd);
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
