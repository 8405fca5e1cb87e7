using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bge.Weights;

/// <summary>
/// The encoder hyper-parameters of a Hugging Face <c>config.json</c>, with the names the file uses, for either
/// family the engine runs (<see cref="EncoderFamily"/>): BERT and XLM-RoBERTa share every layer and differ only in
/// data held here (where positions start, how many token types, the checkpoint's prefix).
/// </summary>
/// <param name="VocabSize">vocab_size: rows of the word-embedding table.</param>
/// <param name="HiddenSize">hidden_size: width of every token vector.</param>
/// <param name="NumHiddenLayers">num_hidden_layers: encoder layers.</param>
/// <param name="NumAttentionHeads">num_attention_heads: heads per layer; must divide hidden_size.</param>
/// <param name="IntermediateSize">intermediate_size: width of the feed-forward layer.</param>
/// <param name="MaxPositionEmbeddings">max_position_embeddings: rows of the position table (the longest input is <see cref="MaxSequenceLength"/>).</param>
/// <param name="TypeVocabSize">type_vocab_size: rows of the token-type table.</param>
/// <param name="LayerNormEps">layer_norm_eps: the epsilon of every LayerNorm.</param>
/// <param name="HiddenAct">hidden_act: the feed-forward activation ("gelu" is the exact erf form).</param>
/// <param name="Family">model_type: <c>bert</c>, or <c>xlm-roberta</c>/<c>roberta</c>.</param>
/// <param name="PadTokenId">pad_token_id: for the RoBERTa family also the position table's padding row.</param>
public sealed record EncoderConfig(
    int VocabSize,
    int HiddenSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int IntermediateSize,
    int MaxPositionEmbeddings,
    int TypeVocabSize,
    double LayerNormEps,
    string HiddenAct,
    EncoderFamily Family = EncoderFamily.Bert,
    int PadTokenId = 0)
{
    /// <summary>Activations the engine implements.</summary>
    public static readonly IReadOnlyList<string> SupportedActivations = ["gelu"];

    /// <summary>Width of one attention head.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>
    /// Position id of a sequence's first token: 0 for BERT; <c>pad_token_id + 1</c> for RoBERTa-style models, whose
    /// position ids are fairseq's (transformers' <c>create_position_ids_from_input_ids</c>: padding tokens keep
    /// <c>pad_token_id</c>, the others count up from <c>pad_token_id + 1</c>).
    /// </summary>
    public int PositionOffset => Family == EncoderFamily.XlmRoberta ? PadTokenId + 1 : 0;

    /// <summary>Longest input in tokens, specials included: the one number every length limit reads.</summary>
    public int MaxSequenceLength => MaxPositionEmbeddings - PositionOffset;

    /// <summary>The prefix a task checkpoint (a cross-encoder, a masked-LM) puts before the encoder's tensors.</summary>
    public string BasePrefix => EncoderTensorNames.TaskPrefix(Family);

    /// <summary>config.json's <c>model_type</c> for the family.</summary>
    public string ModelType => Family == EncoderFamily.XlmRoberta ? "xlm-roberta" : "bert";

    /// <summary>Reads and validates a config.json.</summary>
    /// <exception cref="ModelFormatException">The file is not valid JSON, lacks a field, or holds inconsistent values.</exception>
    public static EncoderConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, "config.json not found");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates config.json text.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <exception cref="ModelFormatException">Not valid JSON, a field missing, or inconsistent values.</exception>
    public static EncoderConfig Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(source, "not valid JSON: " + e.Message, innerException: e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(source, "config is not a JSON object");
            }

            var family = String(root, "model_type", source, "bert") switch
            {
                "bert" => EncoderFamily.Bert,
                "xlm-roberta" or "roberta" => EncoderFamily.XlmRoberta,
                var other => throw new ModelFormatException(source, $"model_type is '{other}'; supported: bert, xlm-roberta, roberta"),
            };
            if (String(root, "position_embedding_type", source, "absolute") is var positions and not "absolute")
            {
                throw new ModelFormatException(source, $"position_embedding_type is '{positions}'; only 'absolute' is supported");
            }

            var config = new EncoderConfig(
                Int(root, "vocab_size", source),
                Int(root, "hidden_size", source),
                Int(root, "num_hidden_layers", source),
                Int(root, "num_attention_heads", source),
                Int(root, "intermediate_size", source),
                Int(root, "max_position_embeddings", source, 512),
                Int(root, "type_vocab_size", source, 2),
                Double(root, "layer_norm_eps", source, 1e-12),
                String(root, "hidden_act", source, "gelu"),
                family,
                Int(root, "pad_token_id", source, family == EncoderFamily.XlmRoberta ? 1 : 0));
            config.Validate(source);
            return config;
        }
    }

    /// <summary>Checks the values are usable; throws naming the field otherwise.</summary>
    /// <exception cref="ModelFormatException">A value is out of range or inconsistent.</exception>
    public void Validate(string? source = null)
    {
        void Positive(int value, string name, int max)
        {
            if (value <= 0 || value > max)
            {
                throw new ModelFormatException(source, $"{name} is {value}; expected 1..{max}");
            }
        }

        Positive(VocabSize, "vocab_size", 10_000_000);
        Positive(HiddenSize, "hidden_size", 65_536);
        Positive(NumHiddenLayers, "num_hidden_layers", 1_000);
        Positive(NumAttentionHeads, "num_attention_heads", HiddenSize);
        Positive(IntermediateSize, "intermediate_size", 1_000_000);
        Positive(MaxPositionEmbeddings, "max_position_embeddings", 1_000_000);
        Positive(TypeVocabSize, "type_vocab_size", 1_000);
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
        {
            throw new ModelFormatException(source, $"pad_token_id is {PadTokenId}; expected 0..{VocabSize - 1}");
        }

        if (MaxSequenceLength < 1)
        {
            throw new ModelFormatException(source, $"max_position_embeddings is {MaxPositionEmbeddings}; positions start at {PositionOffset} (pad_token_id + 1), so it must be larger");
        }
        if (HiddenSize % NumAttentionHeads != 0)
        {
            throw new ModelFormatException(source, $"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        }

        if (!(LayerNormEps > 0 && LayerNormEps < 1))
        {
            throw new ModelFormatException(source, $"layer_norm_eps is {LayerNormEps}; expected a small positive number");
        }

        if (!SupportedActivations.Contains(HiddenAct))
        {
            throw new ModelFormatException(source, $"hidden_act '{HiddenAct}' is not supported (supported: {string.Join(", ", SupportedActivations)})");
        }
    }

    /// <summary>The config as Hugging Face writes it for the family's base model (BertModel or XLMRobertaModel).</summary>
    public string ToJson()
    {
        var node = new JsonObject
        {
            ["architectures"] = new JsonArray(Family == EncoderFamily.XlmRoberta ? "XLMRobertaModel" : "BertModel"),
            ["attention_probs_dropout_prob"] = 0.1,
            ["hidden_act"] = HiddenAct,
            ["hidden_dropout_prob"] = 0.1,
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = IntermediateSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["model_type"] = ModelType,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["pad_token_id"] = PadTokenId,
            ["position_embedding_type"] = "absolute",
            ["torch_dtype"] = "float32",
            ["type_vocab_size"] = TypeVocabSize,
            ["vocab_size"] = VocabSize,
        };
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonElement? Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static int Int(JsonElement root, string name, string source, int? fallback = null)
    {
        if (Field(root, name) is not { } value)
        {
            return fallback ?? throw new ModelFormatException(source, $"field '{name}' is missing");
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var v)
            ? v
            : throw new ModelFormatException(source, $"field '{name}' is {value.GetRawText()}, not an integer");
    }

    private static double Double(JsonElement root, string name, string source, double fallback)
    {
        if (Field(root, name) is not { } value)
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw new ModelFormatException(source, $"field '{name}' is {value.GetRawText()}, not a number");
    }

    private static string String(JsonElement root, string name, string source, string fallback)
    {
        if (Field(root, name) is not { } value)
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new ModelFormatException(source, $"field '{name}' is {value.GetRawText()}, not a string");
    }
}
