using System.Globalization;
using System.Text.RegularExpressions;

namespace Bge.Weights.Onnx;

/// <summary>A Encoder recovered from an ONNX graph: its config and its tensors under Hugging Face names and layouts.</summary>
/// <param name="Config">The config inferred from the tensors and the graph.</param>
/// <param name="Tensors">Canonical name → (shape, values), Linear weights in PyTorch's [out, in] layout.</param>
public sealed record ImportedBert(EncoderConfig Config, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> Tensors);

/// <summary>
/// Recovers Encoder weights from a PyTorch ONNX export by graph structure, not node names (exporters name
/// nodes differently). Each Linear weight is stored transposed ([in, out]) under a generated name; the MatMul
/// that consumes it feeds an Add whose other input is the Hugging Face-named bias, which names the weight.
/// </summary>
public static partial class OnnxBertImporter
{
    /// <summary>Maps an ONNX graph's initializers to Encoder tensors and infers its config.</summary>
    /// <param name="graph">The parsed ONNX model.</param>
    /// <param name="numAttentionHeads">The head count, or null to infer it from the attention-score scaling constant.</param>
    /// <exception cref="ModelFormatException">The graph is not a BERT encoder this importer understands.</exception>
    public static ImportedBert Map(OnnxGraph graph, int? numAttentionHeads = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var constants = Constants(graph);
        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            node.Outputs.ToList().ForEach(o => producers[o] = node);
            foreach (var input in node.Inputs)
            {
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);
            }
        }

        var tensors = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var (name, tensor) in graph.Initializers)
        {
            if (EncoderTensorNames.Canonical(name) is { } canonical && tensor.DataType == OnnxTensor.Float)
            {
                tensors[canonical] = (tensor.Dims.ToArray(), tensor.ToFloats());
            }
        }

        foreach (var matMul in graph.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2 && n.Outputs.Count >= 1))
        {
            if (!graph.Initializers.TryGetValue(matMul.Inputs[1], out var weight) || weight.Dims.Count != 2)
            {
                continue;
            }

            var bias = consumers.GetValueOrDefault(matMul.Outputs[0], [])
                .Where(n => n.OpType == "Add")
                .SelectMany(n => n.Inputs)
                .FirstOrDefault(i => i != matMul.Outputs[0] && graph.Initializers.ContainsKey(i));
            if (bias is not null && EncoderTensorNames.Canonical(bias) is null)
            {
                continue; // a Linear outside the encoder, such as the pooler's
            }

            if (bias is null || EncoderTensorNames.Canonical(bias) is not { } biasName || !biasName.EndsWith(".bias", StringComparison.Ordinal))
            {
                throw new ModelFormatException(graph.Source, "MatMul weight is not followed by an Add of a named bias, so its Hugging Face name cannot be recovered", weight.Name);
            }

            var name = biasName[..^".bias".Length] + ".weight";
            var (rows, cols) = ((int)weight.Dims[0], (int)weight.Dims[1]);
            tensors[name] = ([cols, rows], Transpose(weight.ToFloats(), rows, cols));
        }

        var config = InferConfig(graph, tensors, constants, producers, numAttentionHeads);
        foreach (var (name, shape) in EncoderTensorNames.Expected(config))
        {
            if (!tensors.TryGetValue(name, out var found))
            {
                throw new ModelFormatException(graph.Source, "not found in the ONNX graph", name);
            }

            if (!found.Item1.SequenceEqual(shape))
            {
                throw new ModelFormatException(graph.Source, $"has shape [{string.Join(", ", found.Item1)}], expected [{string.Join(", ", shape)}]", name);
            }
        }

        return new ImportedBert(config, tensors);
    }

    /// <summary>[rows, cols] → [cols, rows].</summary>
    internal static float[] Transpose(float[] values, int rows, int cols)
    {
        var result = new float[values.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                result[(c * rows) + r] = values[(r * cols) + c];
            }
        }

        return result;
    }

    private static EncoderConfig InferConfig(
        OnnxGraph graph,
        Dictionary<string, (long[] Shape, float[] Values)> tensors,
        Dictionary<string, OnnxTensor> constants,
        Dictionary<string, OnnxNode> producers,
        int? numAttentionHeads)
    {
        (long[] Shape, float[] Values) Need(string name) => tensors.TryGetValue(name, out var t)
            ? t
            : throw new ModelFormatException(graph.Source, "not found in the ONNX graph", name);

        var word = Need("embeddings.word_embeddings.weight").Shape;
        var positions = Need("embeddings.position_embeddings.weight").Shape;
        var types = Need("embeddings.token_type_embeddings.weight").Shape;
        var hidden = (int)word[1];
        var layers = tensors.Keys.Select(k => LayerIndex().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value) + 1).DefaultIfEmpty(0).Max();
        if (layers == 0)
        {
            throw new ModelFormatException(graph.Source, "no encoder.layer.* tensors in the ONNX graph");
        }

        var intermediate = (int)Need("encoder.layer.0.intermediate.dense.bias").Shape[0];
        var heads = numAttentionHeads ?? InferHeads(graph, hidden, constants, producers);
        if (!graph.Nodes.Any(n => n.OpType == "Erf"))
        {
            throw new ModelFormatException(graph.Source, "no Erf node: the activation is not the exact GELU this engine implements");
        }

        var config = new EncoderConfig((int)word[0], hidden, layers, heads, intermediate, (int)positions[0], (int)types[0], InferEpsilon(graph, constants, producers), "gelu");
        config.Validate(graph.Source);
        return config;
    }

    /// <summary>Attention scores are divided by √head_size (or multiplied by its inverse) right after Q·Kᵀ.</summary>
    private static int InferHeads(OnnxGraph graph, int hidden, Dictionary<string, OnnxTensor> constants, Dictionary<string, OnnxNode> producers)
    {
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Div" or "Mul" && n.Inputs.Count == 2))
        {
            if (!producers.TryGetValue(node.Inputs[0], out var source) || source.OpType != "MatMul"
                || source.Inputs.Any(i => graph.Initializers.ContainsKey(i) || constants.ContainsKey(i))
                || Scalar(constants, node.Inputs[1]) is not { } scale || scale <= 0)
            {
                continue;
            }

            var headSize = node.OpType == "Div" ? scale * scale : 1 / (scale * scale);
            var rounded = (int)Math.Round(headSize);
            if (rounded > 0 && Math.Abs(headSize - rounded) < 1e-2 && hidden % rounded == 0)
            {
                return hidden / rounded;
            }
        }

        throw new ModelFormatException(graph.Source, "cannot infer the number of attention heads from the graph; give it explicitly");
    }

    /// <summary>LayerNorm's epsilon: an attribute of LayerNormalization, or the constant added to the variance before Sqrt.</summary>
    private static double InferEpsilon(OnnxGraph graph, Dictionary<string, OnnxTensor> constants, Dictionary<string, OnnxNode> producers)
    {
        foreach (var node in graph.Nodes)
        {
            if (node.OpType == "LayerNormalization")
            {
                return node.FloatAttributes.TryGetValue("epsilon", out var eps) ? Shortest(eps) : 1e-5;
            }

            if (node.OpType == "Sqrt" && node.Inputs.Count >= 1 && producers.TryGetValue(node.Inputs[0], out var add) && add.OpType == "Add"
                && add.Inputs.Select(i => Scalar(constants, i)).FirstOrDefault(v => v is not null) is { } epsilon)
            {
                return Shortest(epsilon);
            }
        }

        throw new ModelFormatException(graph.Source, "cannot find the LayerNorm epsilon in the graph");
    }

    /// <summary>The double a float was written as (1e-12, not 9.999999960041972e-13), as config.json would say it.</summary>
    private static double Shortest(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static float? Scalar(Dictionary<string, OnnxTensor> constants, string name) =>
        constants.TryGetValue(name, out var t) && t.DataType == OnnxTensor.Float && t.ElementCount == 1 ? t.ToFloats()[0] : null;

    private static Dictionary<string, OnnxTensor> Constants(OnnxGraph graph)
    {
        var constants = new Dictionary<string, OnnxTensor>(graph.Initializers, StringComparer.Ordinal);
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Constant" && n.Value is not null && n.Outputs.Count == 1))
        {
            constants[node.Outputs[0]] = node.Value!;
        }

        return constants;
    }

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerIndex();
}
