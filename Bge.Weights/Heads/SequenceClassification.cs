using System.Text.Json;

namespace Bge.Weights.Heads;

/// <summary>Which classification head a <c>*ForSequenceClassification</c> checkpoint carries.</summary>
public enum ClassifierLayout
{
    /// <summary>
    /// BertForSequenceClassification: <c>tanh(pooler.dense(h[CLS]))</c> then <c>classifier</c> (the BERT pooler feeds
    /// the classifier; ms-marco cross-encoders).
    /// </summary>
    BertPooler,

    /// <summary>
    /// (XLM-)RobertaForSequenceClassification: <c>tanh(classifier.dense(h[&lt;s&gt;]))</c> then <c>classifier.out_proj</c>;
    /// no pooler (bge-reranker-base/large, bge-reranker-v2-m3).
    /// </summary>
    RobertaHead,
}

/// <summary>
/// The sequence-classification head config.json declares: the architecture (<c>architectures</c>), the head's layout,
/// and the label names (<c>id2label</c>, in id order; one label is a single relevance logit, as rerankers have).
/// </summary>
/// <param name="Architecture">The <c>architectures</c> entry, e.g. <c>XLMRobertaForSequenceClassification</c>.</param>
/// <param name="Layout">Which tensors the head has.</param>
/// <param name="Labels">The label names by id.</param>
public sealed record SequenceClassification(string Architecture, ClassifierLayout Layout, IReadOnlyList<string> Labels)
{
    /// <summary>The architectures whose heads the engine runs.</summary>
    public static readonly IReadOnlyList<string> Supported =
        ["BertForSequenceClassification", "XLMRobertaForSequenceClassification", "RobertaForSequenceClassification"];

    /// <summary>The tensors of the first (hidden → hidden, then tanh) and the output (hidden → labels) projection.</summary>
    public (string Dense, string Output) TensorNames => Layout == ClassifierLayout.BertPooler
        ? ("pooler.dense", "classifier")
        : ("classifier.dense", "classifier.out_proj");

    /// <summary>
    /// Reads the head from config.json's text: null when <c>architectures</c> names no <c>*ForSequenceClassification</c>
    /// (an embedding model); an error for one the engine does not run or a malformed label map.
    /// </summary>
    /// <param name="json">config.json's text.</param>
    /// <param name="family">The encoder family config.json names (its head must match).</param>
    /// <param name="source">Where the text came from, for messages.</param>
    /// <exception cref="ModelFormatException">The head is of an unknown architecture, or its labels are malformed.</exception>
    public static SequenceClassification? Parse(string json, EncoderFamily family, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(source, "not valid JSON: " + e.Message, innerException: e);
        }

        using var owner = document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("architectures", out var architectures) || architectures.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var names = architectures.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToList();
        var architecture = names.FirstOrDefault(n => n.EndsWith("ForSequenceClassification", StringComparison.Ordinal));
        if (architecture is null)
        {
            return null;
        }

        var layout = architecture switch
        {
            "BertForSequenceClassification" => ClassifierLayout.BertPooler,
            "XLMRobertaForSequenceClassification" or "RobertaForSequenceClassification" => ClassifierLayout.RobertaHead,
            _ => throw new ModelFormatException(source, $"architectures names {architecture}, a classification head this engine does not run (it runs {string.Join(", ", Supported)})"),
        };
        var expected = layout == ClassifierLayout.BertPooler ? EncoderFamily.Bert : EncoderFamily.XlmRoberta;
        if (family != expected)
        {
            throw new ModelFormatException(source, $"architectures names {architecture} but model_type is a {family} encoder");
        }

        return new SequenceClassification(architecture, layout, ReadLabels(root, source));
    }

    // id2label in id order; else num_labels generic names; else transformers' default of two labels.
    private static string[] ReadLabels(JsonElement root, string source)
    {
        if (root.TryGetProperty("id2label", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            var labels = new SortedDictionary<int, string>();
            foreach (var entry in map.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                    || entry.Value.ValueKind != JsonValueKind.String || !labels.TryAdd(id, entry.Value.GetString()!))
                {
                    throw new ModelFormatException(source, $"id2label entry \"{entry.Name}\": {entry.Value.GetRawText()} is not a label id with its name");
                }
            }

            if (labels.Count == 0 || labels.Keys.Last() != labels.Count - 1)
            {
                throw new ModelFormatException(source, $"id2label must name labels 0..n-1; it holds ids {string.Join(", ", labels.Keys)}");
            }

            return [.. labels.Values];
        }

        var count = root.TryGetProperty("num_labels", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var c) ? c : 2;
        if (count is < 1 or > 100_000)
        {
            throw new ModelFormatException(source, $"num_labels is {count}; expected 1..100000");
        }

        return [.. Enumerable.Range(0, count).Select(i => "LABEL_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }
}
