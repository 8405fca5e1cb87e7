using Bge.Reference;
using Bge.Tokenizer;
using Microsoft.ML.OnnxRuntime;

namespace Bge.Benchmarks;

/// <summary>ONNX Runtime on a BERT graph: CPU provider, all graph optimizations, intra-op threads as given.</summary>
internal sealed class OrtEncoder : IDisposable
{
    private readonly InferenceSession _session;

    public OrtEncoder(byte[] model, int threads)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(model, options);
    }

    /// <summary>last_hidden_state of a padded batch, [B × T × H].</summary>
    public float[] Run(PaddedBatch batch)
    {
        using var results = _session.Run(OrtInputs.From(batch));
        return results.First().AsTensor<float>().ToArray();
    }

    /// <summary>
    /// Embeds texts the way FlagEmbedding feeds a model: sorted by length, batches of 32 padded to the longest, CLS
    /// (or, with <paramref name="mean"/>, the mean over each text's own tokens), L2.
    /// </summary>
    public float[][] EmbedLikeFlagEmbedding(IReadOnlyList<string> texts, Tokenizer.Tokenizer tokenizer, int hidden, bool mean = false)
    {
        var encodings = texts.Select(t => tokenizer.Encode(t)).ToArray();
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => encodings[i].Length).ToArray();
        var result = new float[texts.Count][];
        for (var first = 0; first < order.Length; first += 32)
        {
            var members = order.Skip(first).Take(32).ToArray();
            var padded = new TokenBatch(members.Select(i => encodings[i]).ToList()).ToPadded(Padding.Longest, tokenizer.PadId);
            var states = Run(padded);
            for (var b = 0; b < members.Length; b++)
            {
                var own = states.AsSpan(b * padded.SequenceLength * hidden, encodings[members[b]].Length * hidden);
                var vector = mean ? OrtPooling.MaskedMean(own, encodings[members[b]].Length, hidden) : own[..hidden].ToArray();
                var norm = MathF.Sqrt(vector.Sum(v => v * v));
                result[members[b]] = vector.Select(v => v / norm).ToArray();
            }
        }

        return result;
    }

    public void Dispose() => _session.Dispose();
}
