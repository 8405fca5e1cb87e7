using Bge.Core;
using Microsoft.Extensions.AI;

namespace Bge.Extensions.AI;

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a Bge <see cref="Embedder"/>, so the engine
/// drops into Microsoft.Extensions.AI and Semantic Kernel applications. Texts are embedded as documents; set
/// <see cref="InputTypeKey"/> to <c>"query"</c> in <see cref="EmbeddingGenerationOptions.AdditionalProperties"/>
/// to embed retrieval queries with the model's instruction. Embeddings are L2-normalized, with the model's pooling.
/// </summary>
public sealed class BgeEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The additional-properties key that selects query (<c>"query"</c>) or document (<c>"document"</c>, the default) embedding.</summary>
    public const string InputTypeKey = "bge.input_type";

    private readonly Embedder _embedder;
    private readonly EncodeOptions _options;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Wraps <paramref name="embedder"/>; <paramref name="options"/> sets pooling, truncation and batch size.</summary>
    public BgeEmbeddingGenerator(Embedder embedder, EncodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        _embedder = embedder;
        _options = options ?? new EncodeOptions();
        _metadata = new EmbeddingGeneratorMetadata("bge", null, embedder.Name, embedder.Dimension);
    }

    /// <summary>Loads a model directory and wraps it.</summary>
    public static BgeEmbeddingGenerator Load(string modelDirectory, EncodeOptions? options = null) =>
        new(Embedder.Load(modelDirectory), options);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Options ask for another dimension or model than this one's.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != _embedder.Dimension)
        {
            throw new NotSupportedException($"{_embedder.Name} makes {_embedder.Dimension}-dimensional embeddings, not {dimensions}");
        }

        if (options?.ModelId is { } model && model != _embedder.Name)
        {
            throw new NotSupportedException($"this generator runs {_embedder.Name}, not {model}");
        }

        var texts = values as IReadOnlyList<string> ?? values.ToList();
        var query = options?.AdditionalProperties?.TryGetValue(InputTypeKey, out var kind) == true && string.Equals(kind?.ToString(), "query", StringComparison.OrdinalIgnoreCase);
        // The engine computes synchronously on its own threads; Task.Run keeps a caller's synchronization context free.
        return Task.Run(() =>
        {
            var matrix = query
                ? _embedder.EncodeQueries(texts, _options, null, cancellationToken)
                : _embedder.EncodeCorpus(texts, _options, null, cancellationToken);
            var created = DateTimeOffset.UtcNow;
            var embeddings = Enumerable.Range(0, matrix.Rows)
                .Select(i => new Embedding<float>(matrix.RowArray(i)) { ModelId = _embedder.Name, CreatedAt = created });
            return new GeneratedEmbeddings<Embedding<float>>(embeddings);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(_embedder) ? _embedder : serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the embedder holds only managed memory.</summary>
    public void Dispose()
    {
    }
}
