using Bge.Core.Model;
using Bge.Core.Kernels;
using Bge.Core.Pooling;
using Bge.Weights;

namespace Bge.Core.Heads;

/// <summary>
/// bge-m3's multi-vectors (<c>colbert_linear.pt</c>, Linear(hidden, hidden)), as FlagEmbedding computes them:
/// <c>colbert_linear(h[1:])</c>, every token but the first (<c>&lt;/s&gt;</c> kept), each row L2-normalized.
/// </summary>
internal sealed class ColBert(Linear linear, SimdWidth simd)
{
    /// <summary>The file bge-m3 ships the head in.</summary>
    public const string FileName = "colbert_linear.pt";

    public static ColBert Load(string path, EncoderConfig config, SimdWidth simd) =>
        new(Linear.FromFile(path, config.HiddenSize, config.HiddenSize, simd), simd);

    // states: packed [tokens × H] → [length − 1 × dim] for sequence b
    public MultiVector Forward(HiddenStates states, int sequence)
    {
        var rows = states.LengthOf(sequence) - 1;
        var dimension = linear.Out;
        var vectors = new float[rows * dimension];
        if (rows > 0)
        {
            linear.Forward(states.Sequence(sequence)[states.Hidden..], rows, vectors, parallelism: 1);
            for (var r = 0; r < rows; r++)
            {
                L2Normalize.InPlace(vectors.AsSpan(r * dimension, dimension), simd);
            }
        }

        return new MultiVector(vectors, rows, dimension);
    }
}
