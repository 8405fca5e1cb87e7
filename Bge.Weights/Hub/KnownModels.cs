namespace Bge.Weights.Hub;

/// <summary>A model on the Hub that this engine is known to run.</summary>
/// <param name="RepoId">The Hub id, <c>org/name</c>.</param>
/// <param name="Dimension">The embedding dimension (hidden size).</param>
/// <param name="Layers">Encoder layers.</param>
/// <param name="Pooling">The pooling it was trained with.</param>
/// <param name="QueryInstruction">The instruction BGE prepends to retrieval queries.</param>
public sealed record KnownModel(string RepoId, int Dimension, int Layers, PoolingMode Pooling, string? QueryInstruction);

/// <summary>The BGE v1.5 family and bge-m3, with the query instructions FlagEmbedding uses for them.</summary>
public static class KnownModels
{
    /// <summary>The instruction for the English models.</summary>
    public const string EnglishInstruction = "Represent this sentence for searching relevant passages: ";

    /// <summary>The instruction for the Chinese models.</summary>
    public const string ChineseInstruction = "为这个句子生成表示以用于检索相关文章：";

    /// <summary>Every known model.</summary>
    public static IReadOnlyList<KnownModel> All { get; } =
    [
        new("BAAI/bge-small-en-v1.5", 384, 12, PoolingMode.Cls, EnglishInstruction),
        new("BAAI/bge-base-en-v1.5", 768, 12, PoolingMode.Cls, EnglishInstruction),
        new("BAAI/bge-large-en-v1.5", 1024, 24, PoolingMode.Cls, EnglishInstruction),
        new("BAAI/bge-small-zh-v1.5", 512, 4, PoolingMode.Cls, ChineseInstruction),
        new("BAAI/bge-base-zh-v1.5", 768, 12, PoolingMode.Cls, ChineseInstruction),
        new("BAAI/bge-large-zh-v1.5", 1024, 24, PoolingMode.Cls, ChineseInstruction),

        // XLM-RoBERTa, 8,192 tokens, 100+ languages; queries take no instruction.
        new("BAAI/bge-m3", 1024, 24, PoolingMode.Cls, null),
    ];

    /// <summary>The known model with this id (case-insensitive, as the Hub treats ids), or null.</summary>
    public static KnownModel? Find(string repoId) => All.FirstOrDefault(m => string.Equals(m.RepoId, repoId, StringComparison.OrdinalIgnoreCase));
}
