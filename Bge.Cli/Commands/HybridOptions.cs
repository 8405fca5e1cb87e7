using System.CommandLine;
using System.Globalization;
using Bge.Core;
using Bge.Core.Search;

namespace Bge.Cli.Commands;

/// <summary>What a hybrid search over bge-m3's outputs uses: which outputs, their weights, how ColBERT vectors are kept.</summary>
internal sealed record HybridChoice(EncoderOutputs Kinds, HybridWeights Weights, MultiVectorStorage Storage);

/// <summary><c>--vectors</c>, <c>--weights</c> and <c>--colbert-storage</c>, as <c>bge search</c> and <c>bge eval retrieval</c> share them.</summary>
internal sealed class HybridOptions
{
    private static readonly (string Name, MultiVectorStorage Storage)[] Storages = [("float32", MultiVectorStorage.Float32), ("float16", MultiVectorStorage.Float16), ("int8", MultiVectorStorage.Int8)];

    public HybridOptions(string vectorsDescription)
    {
        Vectors = new Option<string?>("--vectors") { Description = vectorsDescription };
        Weights = new Option<string?>("--weights") { Description = "With --vectors: the dense, sparse and ColBERT weights (default 0.4,0.2,0.4, FlagEmbedding's)." };
        Storage = new Option<string?>("--colbert-storage")
        {
            Description = "With --vectors …colbert: how the documents' ColBERT vectors are kept: float32 (4 bytes a value, default), float16 (2; scores within 5e-4) or int8 (1, plus a scale per vector).",
        };
    }

    public Option<string?> Vectors { get; }

    public Option<string?> Weights { get; }

    public Option<string?> Storage { get; }

    public IEnumerable<Option> All => [Vectors, Weights, Storage];

    /// <summary>A usage error when <c>--weights</c> or <c>--colbert-storage</c> comes without what it needs.</summary>
    public string? Misuse(ParseResult parse) =>
        parse.GetValue(Vectors) is null && parse.GetValue(Weights) is not null ? "--weights needs --vectors"
        : parse.GetValue(Storage) is not null && !(parse.GetValue(Vectors) is { } kinds && EmbedCommand.ParseOutputs(kinds).HasFlag(EncoderOutputs.ColBert)) ? "--colbert-storage needs --vectors with colbert"
        : null;

    /// <summary>The choice made, or null without <c>--vectors</c>.</summary>
    /// <exception cref="ArgumentException">An output, weight or storage is not one known.</exception>
    public HybridChoice? Parse(ParseResult parse) =>
        parse.GetValue(Vectors) is { } kinds
            ? new HybridChoice(EmbedCommand.ParseOutputs(kinds), ParseWeights(parse.GetValue(Weights)), ParseStorage(parse.GetValue(Storage)))
            : null;

    public static string Name(MultiVectorStorage storage) => Storages.First(s => s.Storage == storage).Name;

    private static MultiVectorStorage ParseStorage(string? text) =>
        text is null ? MultiVectorStorage.Float32
        : Storages.FirstOrDefault(s => s.Name == text) is { Name: not null } known ? known.Storage
        : throw new ArgumentException($"--colbert-storage: '{text}' is not one of float32, float16, int8");

    private static HybridWeights ParseWeights(string? text)
    {
        if (text is null)
        {
            return HybridWeights.Default;
        }

        var parts = text.Split(',');
        var values = parts.Select(p => float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) && v >= 0 ? v : float.NaN).ToArray();
        return values.Length == 3 && !values.Any(float.IsNaN)
            ? new HybridWeights(values[0], values[1], values[2])
            : throw new ArgumentException($"--weights: '{text}' is not three non-negative numbers dense,sparse,colbert (e.g. 0.4,0.2,0.4)");
    }
}
