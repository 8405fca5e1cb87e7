using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bge.Weights.SafeTensors;

namespace Bge.Weights;

/// <summary>What a written model directory says about itself beyond its weights.</summary>
/// <param name="Pooling">The pooling the model was trained with.</param>
/// <param name="QueryInstruction">The retrieval instruction for queries, or null.</param>
/// <param name="Readme">The README.md text (source and licence).</param>
/// <param name="ModelMaxLength">tokenizer_config.json's model_max_length.</param>
public sealed record ModelCard(PoolingMode Pooling, string? QueryInstruction, string Readme, int ModelMaxLength = 512);

/// <summary>
/// Writes a model directory as the Hugging Face Hub lays it out (see <see cref="ModelDirectory"/>), atomically:
/// everything goes to a sibling temporary folder that is moved into place only when complete.
/// </summary>
public static class ModelDirectoryWriter
{
    /// <summary>Writes config, weights (F32), vocabulary (LF) and the tokenizer and sentence-transformers files.</summary>
    /// <param name="directory">The directory to create or replace.</param>
    /// <param name="config">The model's config.</param>
    /// <param name="tensors">Canonical name → (shape, values).</param>
    /// <param name="vocabulary">The vocabulary, one token per entry, in id order.</param>
    /// <param name="card">Pooling, instruction and README.</param>
    public static void Write(string directory, EncoderConfig config, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> tensors, IReadOnlyList<string> vocabulary, ModelCard card)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(card);
        var full = Path.GetFullPath(directory.TrimEnd('/', '\\'));
        var staging = full + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(Path.Combine(staging, "1_Pooling"));
        Directory.CreateDirectory(Path.Combine(staging, "2_Normalize"));
        var json = new JsonSerializerOptions { WriteIndented = true };
        void WriteText(string name, string text) => File.WriteAllText(Path.Combine(staging, name), text, new UTF8Encoding(false));
        void WriteJson(string name, JsonNode node) => WriteText(name, node.ToJsonString(json) + "\n");

        WriteText("config.json", config.ToJson());
        SafeTensorsWriter.Write(
            Path.Combine(staging, "model.safetensors"),
            tensors.Select(t => SafeTensorsEntry.FromFloats(t.Key, t.Value.Shape, t.Value.Values)),
            new Dictionary<string, string> { ["format"] = "pt" });
        WriteText("vocab.txt", string.Concat(vocabulary.Select(v => v + "\n")));
        WriteJson("tokenizer_config.json", new JsonObject
        {
            ["do_lower_case"] = true,
            ["model_max_length"] = card.ModelMaxLength,
            ["tokenizer_class"] = "BertTokenizer",
            ["unk_token"] = "[UNK]",
            ["sep_token"] = "[SEP]",
            ["pad_token"] = "[PAD]",
            ["cls_token"] = "[CLS]",
            ["mask_token"] = "[MASK]",
            ["tokenize_chinese_chars"] = true,
            ["strip_accents"] = null,
        });
        WriteJson("special_tokens_map.json", new JsonObject
        {
            ["cls_token"] = "[CLS]",
            ["mask_token"] = "[MASK]",
            ["pad_token"] = "[PAD]",
            ["sep_token"] = "[SEP]",
            ["unk_token"] = "[UNK]",
        });
        WriteJson("modules.json", new JsonArray(
            new JsonObject { ["idx"] = 0, ["name"] = "0", ["path"] = "", ["type"] = "sentence_transformers.models.Transformer" },
            new JsonObject { ["idx"] = 1, ["name"] = "1", ["path"] = "1_Pooling", ["type"] = "sentence_transformers.models.Pooling" },
            new JsonObject { ["idx"] = 2, ["name"] = "2", ["path"] = "2_Normalize", ["type"] = "sentence_transformers.models.Normalize" }));
        WriteJson(Path.Combine("1_Pooling", "config.json"), new JsonObject
        {
            ["word_embedding_dimension"] = config.HiddenSize,
            ["pooling_mode_cls_token"] = card.Pooling == PoolingMode.Cls,
            ["pooling_mode_mean_tokens"] = card.Pooling == PoolingMode.Mean,
            ["pooling_mode_max_tokens"] = false,
            ["pooling_mode_mean_sqrt_len_tokens"] = false,
        });
        var prompts = new JsonObject();
        if (card.QueryInstruction is { } instruction)
        {
            prompts["query"] = instruction;
        }

        WriteJson("config_sentence_transformers.json", new JsonObject { ["prompts"] = prompts, ["default_prompt_name"] = null });
        WriteText("README.md", card.Readme);

        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }

        Directory.Move(staging, full);
    }
}
