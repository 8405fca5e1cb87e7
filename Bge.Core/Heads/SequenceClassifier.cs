using System.Numerics.Tensors;
using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Weights;
using Bge.Weights.Heads;
using Bge.Weights.SafeTensors;

namespace Bge.Core.Heads;

/// <summary>
/// The head of a cross-encoder, a stage after the encoder as pooling is: the first token's hidden state (<c>[CLS]</c>,
/// <c>&lt;s&gt;</c>) → dense → tanh → a projection to one logit per label. BertForSequenceClassification names the
/// two Linears <c>pooler.dense</c> and <c>classifier</c>; (XLM-)RobertaForSequenceClassification names them
/// <c>classifier.dense</c> and <c>classifier.out_proj</c>. Held at fp32 whatever the encoder's precision: it is
/// two small matrix products per sequence.
/// </summary>
internal sealed class SequenceClassifier
{
    private readonly Linear _dense;
    private readonly Linear _output;
    private readonly int _hidden;

    private SequenceClassifier(Linear dense, Linear output, int hidden)
    {
        (_dense, _output, _hidden) = (dense, output, hidden);
    }

    /// <summary>Logits per sequence.</summary>
    public int Labels => _output.Out;

    /// <summary>Loads the head <paramref name="head"/> describes from the checkpoint's tensors outside the encoder.</summary>
    /// <exception cref="ModelFormatException">A tensor of the head is missing, not floating point or of the wrong shape.</exception>
    public static SequenceClassifier Load(Checkpoint weights, SequenceClassification head, SimdWidth simd)
    {
        var h = weights.Config.HiddenSize;
        var (dense, output) = head.TensorNames;
        Check(weights, head, dense + ".weight", [h, h]);
        Check(weights, head, dense + ".bias", [h]);
        Check(weights, head, output + ".weight", [head.Labels.Count, h]);
        Check(weights, head, output + ".bias", [head.Labels.Count]);
        return new SequenceClassifier(
            Linear.Load(weights, dense, h, h, simd, Precision.Fp32),
            Linear.Load(weights, output, head.Labels.Count, h, simd, Precision.Fp32),
            h);
    }

    private static void Check(Checkpoint weights, SequenceClassification head, string name, long[] shape)
    {
        if (!weights.Contains(name))
        {
            throw new ModelFormatException(null, $"is missing; {head.Architecture} needs it (the checkpoint holds {string.Join(", ", weights.HeadNames.DefaultIfEmpty("no tensors"))} outside the encoder)", name);
        }

        var info = weights.Info(name);
        if (!info.DType.IsFloatingPoint() || !info.Shape.SequenceEqual(shape))
        {
            var what = head.Labels.Count == 1 ? "one label" : $"{head.Labels.Count} labels";
            throw new ModelFormatException(null, $"is {info.DType} {info.ShapeText}; {head.Architecture} with hidden size {weights.Config.HiddenSize} and {what} (id2label) needs floating point [{string.Join(", ", shape)}]", name);
        }
    }

    // states: packed [tokens × H]; logits: [sequences × Labels], row b from sequence b's first token.
    public void Forward(HiddenStates states, Span<float> logits)
    {
        var count = states.Count;
        var first = new float[count * _hidden];
        for (var b = 0; b < count; b++)
        {
            states.Sequence(b)[.._hidden].CopyTo(first.AsSpan(b * _hidden));
        }

        var pooled = new float[count * _hidden];
        _dense.Forward(first, count, pooled, parallelism: 1);
        TensorPrimitives.Tanh(pooled, pooled);
        _output.Forward(pooled, count, logits[..(count * Labels)], parallelism: 1);
    }
}
