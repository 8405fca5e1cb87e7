using Bge.Core.Model;
using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Heads;

/// <summary>
/// bge-m3's lexical weights (<c>sparse_linear.pt</c>, Linear(hidden, 1)), as FlagEmbedding's BGEM3FlagModel computes
/// them: <c>relu(sparse_linear(h_t))</c> per token; per token id the largest over its occurrences; the ids of
/// <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c> and <c>&lt;unk&gt;</c> and zero weights dropped.
/// </summary>
internal sealed class SparseLexical(Linear linear, IReadOnlySet<int> unused)
{
    /// <summary>The file bge-m3 ships the head in.</summary>
    public const string FileName = "sparse_linear.pt";

    public static SparseLexical Load(string path, EncoderConfig config, IReadOnlySet<int> unused, SimdWidth simd) =>
        new(Linear.FromFile(path, 1, config.HiddenSize, simd), unused);

    // states: packed [tokens × H]; ids: sequence b's token ids → its weights by id, ids ascending
    public SparseVector Forward(HiddenStates states, int sequence, ReadOnlySpan<int> ids)
    {
        var length = states.LengthOf(sequence);
        var weights = new float[length];
        linear.Forward(states.Sequence(sequence), length, weights, parallelism: 1);
        var best = new SortedDictionary<int, float>();
        for (var t = 0; t < length; t++)
        {
            var weight = Math.Max(0f, weights[t]);
            if (weight > 0 && !unused.Contains(ids[t]) && (!best.TryGetValue(ids[t], out var seen) || weight > seen))
            {
                best[ids[t]] = weight;
            }
        }

        return new SparseVector([.. best.Keys], [.. best.Values]);
    }
}
