using Bge.Core.Compression;
using Bge.Core.Search;
using Bge.Weights;

namespace Bge.Core.Evaluation;

/// <summary>One way to search compressed embeddings: Matryoshka truncation, a code form, and how many candidates per result are rescored.</summary>
/// <param name="Dimensions">Dimensions kept (null: all).</param>
/// <param name="Form">Binary or int8 codes (null: float32 vectors, searched exactly).</param>
/// <param name="RescoreMultiplier">With codes: top k × this rescored with float32 vectors; 0: the codes' own ranking.</param>
public sealed record CompressionSetting(int? Dimensions, VectorQuantization? Form, int RescoreMultiplier = 0);

/// <summary>
/// A corpus's full embeddings, searched as one <see cref="CompressionSetting"/> searches them: cut (and re-normalized)
/// to its dimensions, then either scanned exactly as float32 or indexed as codes (<see cref="QuantizedIndex"/>) with
/// rescoring. Queries come at full width and are cut the same way.
/// </summary>
public sealed class CompressedSearch : IDisposable
{
    private readonly EmbeddingIndex? _exact;
    private readonly QuantizedIndex? _codes;

    /// <summary>Indexes <paramref name="corpus"/> (normalized embeddings) under <paramref name="setting"/>.</summary>
    /// <exception cref="ArgumentException">The setting's form is not binary or int8, or its multiplier is negative.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The dimensions are below 1 or above the corpus's width.</exception>
    public CompressedSearch(EmbeddingMatrix corpus, CompressionSetting setting)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentOutOfRangeException.ThrowIfNegative(setting.RescoreMultiplier);
        Setting = setting;
        var cut = setting.Dimensions is { } d && d != corpus.Columns ? Matryoshka.Truncate(corpus, d) : corpus;
        Dimension = cut.Columns;
        var names = Enumerable.Range(0, cut.Rows).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (setting.Form is { } form)
        {
            _codes = QuantizedIndex.Build("corpus", PoolingMode.Cls, cut, names, form);
        }
        else
        {
            _exact = new EmbeddingIndex("corpus", cut.Columns, PoolingMode.Cls);
            _exact.Add(names, cut);
        }
    }

    /// <summary>The setting.</summary>
    public CompressionSetting Setting { get; }

    /// <summary>Dimensions searched.</summary>
    public int Dimension { get; }

    /// <summary>Resident bytes per document: its code, or its float32 vector.</summary>
    public int BytesPerVector => _codes?.BytesPerVector ?? Dimension * sizeof(float);

    /// <summary>The <paramref name="depth"/> best documents for a full-width normalized query, best first.</summary>
    public IReadOnlyList<int> Search(ReadOnlySpan<float> query, int depth)
    {
        var cut = new float[Dimension];
        Matryoshka.Cut(query, cut, normalize: Dimension != query.Length);

        var hits = _codes is not null ? _codes.Search(cut, depth, Setting.RescoreMultiplier) : _exact!.Search(cut, depth);
        return [.. hits.Select(h => h.Index)];
    }

    /// <summary>Releases the index.</summary>
    public void Dispose() => _codes?.Dispose();
}
