using System.Buffers;
using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>
/// Multi-head scaled dot-product self-attention (<c>attention.self.query/key/value</c>). The three projections run
/// as one GEMM over all packed tokens; attention then runs per sequence and head on the sequence's true length,
/// so no token attends to padding and padding costs nothing.
/// </summary>
internal sealed class SelfAttention
{
    private readonly Linear _queryKeyValue;
    private readonly int _hidden;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly float _scale;
    private readonly SimdWidth _simd;

    private SelfAttention(Linear queryKeyValue, int hidden, int heads, SimdWidth simd)
    {
        _simd = simd;
        _queryKeyValue = queryKeyValue;
        _hidden = hidden;
        _heads = heads;
        _headSize = hidden / heads;
        _scale = 1f / MathF.Sqrt(_headSize);
    }

    public static SelfAttention Load(Checkpoint weights, string prefix, SimdWidth simd, Precision precision)
    {
        var h = weights.Config.HiddenSize;
        var queryKeyValue = Linear.Stack(weights, [prefix + "query", prefix + "key", prefix + "value"], h, h, simd, precision);
        return new SelfAttention(queryKeyValue, h, weights.Config.NumAttentionHeads, simd);
    }

    /// <summary>Width of the Q|K|V scratch rows this stage needs per token.</summary>
    public int ScratchWidth => 3 * _hidden;

    // (T, H) -> (T, H); qkv is (T, 3H) scratch
    public void Forward(ReadOnlySpan<float> hidden, int[] sequenceStarts, Span<float> qkv, Span<float> context, int parallelism)
    {
        var tokens = sequenceStarts[^1];
        _queryKeyValue.Forward(hidden, tokens, qkv, parallelism);
        var sequences = sequenceStarts.Length - 1;
        var work = 0L;
        for (var b = 0; b < sequences; b++)
        {
            var length = (long)(sequenceStarts[b + 1] - sequenceStarts[b]);
            work += 2 * length * length * _hidden;
        }

        parallelism = WorkerTeam.ThreadsFor(work, parallelism);
        unsafe
        {
            fixed (float* pq = qkv, pc = context)
            {
                var (q, c) = ((nint)pq, (nint)pc);
                WorkerTeam.For(sequences * _heads, parallelism, task =>
                {
                    var b = task / _heads;
                    var start = sequenceStarts[b];
                    var length = sequenceStarts[b + 1] - start;
                    Head(new ReadOnlySpan<float>((float*)q + (start * 3 * _hidden), length * 3 * _hidden),
                        new Span<float>((float*)c + (start * _hidden), length * _hidden), length, task % _heads);
                });
            }
        }
    }

    // One head of one sequence: (L, d) queries, keys, values -> (L, d) context, softmax(q·kᵀ/√d)·v
    private void Head(ReadOnlySpan<float> qkv, Span<float> context, int length, int head)
    {
        var d = _headSize;
        var scratch = ArrayPool<float>.Shared.Rent(Attention.ScratchSize(length, d));
        try
        {
            Attention.Head(qkv, 3 * _hidden, head * d, _hidden + (head * d), (2 * _hidden) + (head * d), length, d, _scale, context, _hidden, head * d, scratch, _simd);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}
