using System.Text.Json;

namespace Bge.Weights;

/// <summary>
/// A model directory laid out as the Hugging Face Hub lays it out: <c>config.json</c>, <c>model.safetensors</c>
/// (or shards named by <c>model.safetensors.index.json</c>; else <c>pytorch_model.bin</c>, read without running it),
/// <c>vocab.txt</c>, <c>tokenizer.json</c> and/or <c>sentencepiece.bpe.model</c>,
/// <c>tokenizer_config.json</c>, and the sentence-transformers files (<c>modules.json</c>,
/// <c>1_Pooling/config.json</c>, <c>config_sentence_transformers.json</c>).
/// </summary>
public sealed class ModelDirectory
{
    private ModelDirectory(string path, EncoderConfig config, IReadOnlyList<string> weightFiles)
    {
        Path = path;
        Config = config;
        WeightFiles = weightFiles;
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>The model's config.json.</summary>
    public EncoderConfig Config { get; }

    /// <summary>The safetensors files holding the weights (one, or the shards in order).</summary>
    public IReadOnlyList<string> WeightFiles { get; }

    /// <summary>The vocab.txt path, or null if the directory has none.</summary>
    public string? VocabPath { get; private init; }

    /// <summary>The tokenizer.json path, or null if the directory has none.</summary>
    public string? TokenizerJsonPath { get; private init; }

    /// <summary>tokenizer_config.json's do_lower_case (true when absent, as for the uncased BERT vocabularies).</summary>
    public bool DoLowerCase { get; private init; } = true;

    /// <summary>
    /// The model's own input limit in tokens, as sentence-transformers takes it: sentence_bert_config.json's
    /// max_seq_length, else tokenizer_config.json's model_max_length, capped by the encoder's positions
    /// (<see cref="EncoderConfig.MaxSequenceLength"/>: 512 for BERT, 8,192 for bge-m3).
    /// </summary>
    public int ModelMaxLength { get; private init; }

    /// <summary>The pooling the model was trained with (from 1_Pooling/config.json; CLS, as BGE uses, when absent).</summary>
    public PoolingMode Pooling { get; private init; } = PoolingMode.Cls;

    /// <summary>Whether the pooling came from the directory's files rather than the default.</summary>
    public bool PoolingDeclared { get; private init; }

    /// <summary>
    /// The instruction prepended to retrieval queries: config_sentence_transformers.json's prompts.query, else, for a
    /// known BGE model in the Hub cache, the one FlagEmbedding uses for it (see <see cref="Hub.KnownModels"/>), else null.
    /// </summary>
    public string? QueryInstruction { get; private init; }

    /// <summary>
    /// The sequence-classification head config.json declares (a cross-encoder: <c>*ForSequenceClassification</c> in
    /// <c>architectures</c>), or null for an embedding model.
    /// </summary>
    public Heads.SequenceClassification? Classification { get; private init; }

    /// <summary>The Hub id (<c>org/name</c>) when the directory is a snapshot in the Hub cache, else null.</summary>
    public string? HubRepoId { get; private init; }

    /// <summary>The model's name: its Hub id when the directory is a snapshot in the Hub cache, else the directory's name.</summary>
    public string Name => HubRepoId
        ?? System.IO.Path.GetFileName(System.IO.Path.GetFullPath(Path).TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar));

    /// <summary>Opens and checks a model directory (the weights themselves are opened by <see cref="OpenWeights"/>).</summary>
    /// <exception cref="ModelFormatException">A required file is missing or malformed.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static ModelDirectory Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Directory.Exists(path))
        {
            throw new DirectoryNotFoundException($"model directory not found: {path}");
        }

        var configPath = System.IO.Path.Combine(path, "config.json");
        var config = EncoderConfig.Load(configPath);
        var tokenizerConfig = ReadJson(System.IO.Path.Combine(path, "tokenizer_config.json"));
        var (pooling, declared) = ReadPooling(path);
        var declaredMax = Length(ReadJson(System.IO.Path.Combine(path, "sentence_bert_config.json")), "max_seq_length")
            ?? Length(tokenizerConfig, "model_max_length");
        var maxLength = (int)Math.Min(declaredMax ?? long.MaxValue, config.MaxSequenceLength);

        var repoId = Hub.HubCache.RepoIdOf(path);
        return new ModelDirectory(path, config, FindWeights(path))
        {
            HubRepoId = repoId,
            Classification = Heads.SequenceClassification.Parse(File.ReadAllText(configPath), config.Family, configPath),
            VocabPath = Existing(path, "vocab.txt"),
            TokenizerJsonPath = Existing(path, "tokenizer.json"),
            DoLowerCase = tokenizerConfig is not { } t || !t.TryGetProperty("do_lower_case", out var lower) || lower.ValueKind != JsonValueKind.False,
            ModelMaxLength = maxLength,
            Pooling = pooling,
            PoolingDeclared = declared,
            QueryInstruction = ReadQueryInstruction(path) ?? (repoId is null ? null : Hub.KnownModels.Find(repoId)?.QueryInstruction),
        };
    }

    /// <summary>Opens the weights and checks them against config.json.</summary>
    /// <exception cref="ModelFormatException">A tensor is missing, malformed or of the wrong shape.</exception>
    public Checkpoint OpenWeights() => Checkpoint.Open(Config, WeightFiles);

    // A positive integer field; tokenizer_config.json's "no limit" sentinel (1e30, a float) does not count.
    private static long? Length(JsonElement? root, string name) =>
        root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetInt64(out var length) && length > 0
            ? length
            : null;

    private static string? Existing(string directory, string name)
    {
        var file = System.IO.Path.Combine(directory, name);
        return File.Exists(file) ? file : null;
    }

    private static IReadOnlyList<string> FindWeights(string path)
    {
        if (Existing(path, "model.safetensors") is { } single)
        {
            return [single];
        }

        // safetensors first: where a model ships both, it is the format that cannot hold code.
        return Shards(path, "model.safetensors.index.json")
            ?? (Existing(path, "pytorch_model.bin") is { } pickle ? [pickle] : (IReadOnlyList<string>?)null)
            ?? Shards(path, "pytorch_model.bin.index.json")
            ?? throw new ModelFormatException(path, "no model.safetensors, pytorch_model.bin or index of either in the model directory");
    }

    // The shard files an index's weight_map names, in order, or null when the directory has no such index.
    private static IReadOnlyList<string>? Shards(string path, string indexName)
    {
        if (Existing(path, indexName) is { } index)
        {
            var root = ReadJson(index) ?? throw new ModelFormatException(index, "unreadable");
            if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(index, "no weight_map object");
            }

            var shards = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                var shard = entry.Value.GetString();
                if (string.IsNullOrEmpty(shard) || shard.Contains('/') || shard.Contains('\\') || shard.StartsWith('.'))
                {
                    throw new ModelFormatException(index, $"weight_map names an invalid shard file '{shard}'", entry.Name);
                }

                var file = System.IO.Path.Combine(path, shard);
                if (!shards.Contains(file))
                {
                    shards.Add(File.Exists(file) ? file : throw new ModelFormatException(file, $"shard named by {indexName} is missing", entry.Name));
                }
            }

            return shards;
        }

        return null;
    }

    private static (PoolingMode Mode, bool Declared) ReadPooling(string path)
    {
        var folder = "1_Pooling";
        if (ReadJson(System.IO.Path.Combine(path, "modules.json")) is { ValueKind: JsonValueKind.Array } modules)
        {
            foreach (var module in modules.EnumerateArray())
            {
                if (module.TryGetProperty("type", out var type) && type.GetString()?.EndsWith(".Pooling", StringComparison.Ordinal) == true
                    && module.TryGetProperty("path", out var p) && p.GetString() is { Length: > 0 } modulePath)
                {
                    folder = modulePath;
                }
            }
        }

        var file = System.IO.Path.Combine(path, folder, "config.json");
        if (ReadJson(file) is not { } pooling)
        {
            return (PoolingMode.Cls, false);
        }

        bool Flag(string name) => pooling.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        if (pooling.TryGetProperty("pooling_mode", out var named) && named.GetString() is { } mode)
        {
            return mode switch
            {
                "cls" => (PoolingMode.Cls, true),
                "mean" => (PoolingMode.Mean, true),
                _ => throw new ModelFormatException(file, $"pooling_mode '{mode}' is not supported (cls or mean)"),
            };
        }

        return (Flag("pooling_mode_cls_token"), Flag("pooling_mode_mean_tokens")) switch
        {
            (true, false) => (PoolingMode.Cls, true),
            (false, true) => (PoolingMode.Mean, true),
            _ => throw new ModelFormatException(file, "exactly one of pooling_mode_cls_token and pooling_mode_mean_tokens must be true"),
        };
    }

    private static string? ReadQueryInstruction(string path)
    {
        var root = ReadJson(System.IO.Path.Combine(path, "config_sentence_transformers.json"));
        return root is { } r && r.TryGetProperty("prompts", out var prompts) && prompts.ValueKind == JsonValueKind.Object
            && prompts.TryGetProperty("query", out var query) && query.ValueKind == JsonValueKind.String
            && query.GetString() is { Length: > 0 } text
            ? text
            : null;
    }

    private static JsonElement? ReadJson(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(file, "not valid JSON: " + e.Message, innerException: e);
        }
    }
}
