namespace Bge.Weights;

/// <summary>
/// The Hugging Face tensor names of an encoder (BertModel, XLMRobertaModel) and the shapes its config implies, plus
/// the mapping from the variants checkpoints use (the family's <c>bert.</c>/<c>roberta.</c> prefix of task
/// checkpoints, old <c>gamma</c>/<c>beta</c> LayerNorm names).
/// </summary>
public static class EncoderTensorNames
{
    /// <summary>The names of the embedding stage's five tensors.</summary>
    public static readonly IReadOnlyList<string> Embeddings =
    [
        "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.bias",
    ];

    /// <summary>The prefix a task checkpoint of <paramref name="family"/> puts before the encoder's tensors.</summary>
    public static string TaskPrefix(EncoderFamily family) => family == EncoderFamily.XlmRoberta ? "roberta." : "bert.";

    /// <summary>The prefix of layer <paramref name="layer"/>'s tensors, e.g. <c>encoder.layer.0.</c>.</summary>
    public static string Layer(int layer) => $"encoder.layer.{layer}.";

    /// <summary>Every tensor an encoder with <paramref name="config"/> needs, with its shape.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Expected(EncoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long h = config.HiddenSize, i = config.IntermediateSize;
        var list = new List<(string, long[])>
        {
            (Embeddings[0], [config.VocabSize, h]),
            (Embeddings[1], [config.MaxPositionEmbeddings, h]),
            (Embeddings[2], [config.TypeVocabSize, h]),
            (Embeddings[3], [h]),
            (Embeddings[4], [h]),
        };
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var p = Layer(layer);
            foreach (var projection in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                list.Add((p + projection + ".weight", [h, h]));
                list.Add((p + projection + ".bias", [h]));
            }

            list.Add((p + "attention.output.LayerNorm.weight", [h]));
            list.Add((p + "attention.output.LayerNorm.bias", [h]));
            list.Add((p + "intermediate.dense.weight", [i, h]));
            list.Add((p + "intermediate.dense.bias", [i]));
            list.Add((p + "output.dense.weight", [h, i]));
            list.Add((p + "output.dense.bias", [h]));
            list.Add((p + "output.LayerNorm.weight", [h]));
            list.Add((p + "output.LayerNorm.bias", [h]));
        }

        return list;
    }

    /// <summary>
    /// Maps a checkpoint's tensor name to the encoder's name, or returns null for tensors an encoder does not use
    /// (<c>pooler.*</c>, the <c>position_ids</c> buffer, task and pre-training heads). Only the family's own prefix
    /// is taken off: a <c>roberta.</c> tensor is not a BERT encoder's.
    /// </summary>
    /// <param name="name">The name as stored.</param>
    /// <param name="family">The family whose task prefix (<see cref="EncoderConfig.BasePrefix"/>) is stripped.</param>
    public static string? Canonical(string name, EncoderFamily family = EncoderFamily.Bert)
    {
        ArgumentNullException.ThrowIfNull(name);
        var prefix = TaskPrefix(family);
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            name = name[prefix.Length..];
        }

        if (!name.StartsWith("embeddings.", StringComparison.Ordinal) && !name.StartsWith("encoder.", StringComparison.Ordinal))
        {
            return null;
        }

        if (name.EndsWith("position_ids", StringComparison.Ordinal))
        {
            return null;
        }

        if (name.Contains(".LayerNorm.", StringComparison.Ordinal))
        {
            if (name.EndsWith(".gamma", StringComparison.Ordinal))
            {
                return name[..^".gamma".Length] + ".weight";
            }

            if (name.EndsWith(".beta", StringComparison.Ordinal))
            {
                return name[..^".beta".Length] + ".bias";
            }
        }

        return name;
    }

    /// <summary>
    /// The name a head reads a tensor outside the encoder by: the family's task prefix taken off
    /// (<c>bert.pooler.dense.weight</c> → <c>pooler.dense.weight</c>); null for the encoder's own tensors and for
    /// buffers (<c>position_ids</c>).
    /// </summary>
    /// <param name="name">The name as stored.</param>
    /// <param name="family">The family whose task prefix is stripped.</param>
    public static string? HeadName(string name, EncoderFamily family = EncoderFamily.Bert)
    {
        ArgumentNullException.ThrowIfNull(name);
        var prefix = TaskPrefix(family);
        var bare = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
        return bare.StartsWith("embeddings.", StringComparison.Ordinal) || bare.StartsWith("encoder.", StringComparison.Ordinal)
            || bare.EndsWith("position_ids", StringComparison.Ordinal)
            ? null
            : bare;
    }
}
