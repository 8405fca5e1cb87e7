using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Bge.Extensions.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData <see cref="VectorStore"/> held in memory and searched exactly, as Bge's own
/// indexes are: every vector a float32 row, every row scored. Pair it with a
/// <see cref="Bge.Extensions.AI.BgeEmbeddingGenerator"/> and a Semantic Kernel or Microsoft.Extensions.AI application
/// runs on Bge end to end: records' text embedded as documents, search text as queries.
/// </summary>
/// <remarks>
/// <para>Records are mapped by the abstractions' attributes (<see cref="VectorStoreKeyAttribute"/>,
/// <see cref="VectorStoreDataAttribute"/>, <see cref="VectorStoreVectorAttribute"/>) or a
/// <see cref="VectorStoreCollectionDefinition"/>; <see cref="GetDynamicCollection"/> takes dictionaries instead.</para>
/// <para>Keys: one per record, of any type with value equality; <see cref="Guid"/> keys left empty are generated.
/// Data: any .NET type. Vectors: <see cref="ReadOnlyMemory{T}"/> of float (nullable or not), float[] or
/// <see cref="Embedding{T}"/> of float, or any input an embedding generator turns into
/// <see cref="Embedding{T}"/> of float (a string, typically), several per record if wanted; each must have its
/// property's <see cref="VectorStoreVectorAttribute.Dimensions"/> (<see cref="ArgumentException"/> otherwise).</para>
/// <para>Distance functions: <see cref="DistanceFunction.CosineSimilarity"/> (the default),
/// <see cref="DistanceFunction.DotProductSimilarity"/> and <see cref="DistanceFunction.EuclideanDistance"/>;
/// index kinds: <see cref="IndexKind.Flat"/> (the default: every row scored exactly) and
/// <see cref="IndexKind.QuantizedFlat"/> (every row's sign bits compared with the query's by Hamming distance, as Bge's
/// binary index does, and the closest <c>(Skip + top) × </c><see cref="RescoreMultiplier"/> rescored exactly with the
/// property's distance function: many times faster to scan, for vectors whose direction carries their meaning, as
/// embeddings' does; the float32 rows stay in memory for rescoring). Others are refused with a
/// <see cref="NotSupportedException"/> naming them when the collection is made.</para>
/// <para>Filters (<see cref="VectorSearchOptions{TRecord}.Filter"/> and filtered gets) are compiled over the stored key
/// and data values: equality, comparisons, <c>&amp;&amp;</c>, <c>||</c>, <c>!</c>, <c>Contains</c> and any other .NET
/// code on those values work; reading a vector property, or using the record other than through its properties, is
/// refused with a <see cref="NotSupportedException"/>. Every data property is filterable, indexed or not.</para>
/// <para>Not supported: persistence (a store lives as long as the object), hybrid keyword search
/// (<see cref="IKeywordHybridSearchable{TRecord}"/>), approximate indexes, and
/// <see cref="RecordRetrievalOptions.IncludeVectors"/> for vectors the store embeds itself (their inputs are not
/// stored; the abstractions' <see cref="NotSupportedException"/>).</para>
/// </remarks>
public sealed class BgeVectorStore : VectorStore
{
    internal const string SystemName = "bge";

    private readonly ConcurrentDictionary<string, CollectionRows> _collections = new();
    private readonly IEmbeddingGenerator? _embeddingGenerator;
    private readonly VectorStoreMetadata _metadata = new() { VectorStoreSystemName = SystemName };

    /// <summary>An empty store.</summary>
    /// <param name="embeddingGenerator">Embeds the vector properties and search inputs that are not vectors, unless a
    /// collection's definition or property names its own; a <see cref="Bge.Extensions.AI.BgeEmbeddingGenerator"/> typically.</param>
    public BgeVectorStore(IEmbeddingGenerator? embeddingGenerator = null)
    {
        _embeddingGenerator = embeddingGenerator;
    }

    /// <summary>
    /// For <see cref="IndexKind.QuantizedFlat"/> vectors: how many candidates per result the sign bits choose for exact
    /// rescoring (4 by default; more finds more of the exact top at a little more cost).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1.</exception>
    public int RescoreMultiplier
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 4;

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The record asks for a distance function or index kind this store does not have.</exception>
    [RequiresDynamicCode("Reads the record type's properties by reflection, as the abstractions' model builder does; GetDynamicCollection works under Native AOT.")]
    [RequiresUnreferencedCode("Reads the record type's properties by reflection, as the abstractions' model builder does; GetDynamicCollection works when trimmed.")]
    public override BgeVectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            throw new ArgumentException(VectorDataStrings.GetCollectionWithDictionaryNotSupported);
        }

        return new(this, name, new BgeModelBuilder().Build(typeof(TRecord), typeof(TKey), definition, _embeddingGenerator));
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The definition asks for a distance function or index kind this store does not have.</exception>
    public override BgeVectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(definition);
        return new(this, name, new BgeModelBuilder().BuildDynamic(definition, definition.EmbeddingGenerator ?? _embeddingGenerator));
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<string> ListCollectionNamesAsync(CancellationToken cancellationToken = default) =>
        _collections.Keys.Order(StringComparer.Ordinal).ToAsyncEnumerable();

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Task.FromResult(_collections.ContainsKey(name));
    }

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        _collections.TryRemove(name, out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Creates collection <paramref name="name"/> for <paramref name="layout"/>, unless it exists.</summary>
    internal void Create(string name, RecordLayout layout) =>
        CheckSchema(name, _collections.GetOrAdd(name, _ => new CollectionRows(layout.Schema, [.. layout.VectorProperties.Select((p, i) => (p.Dimensions, layout.Quantized[i]))])), layout);

    /// <summary>The rows of collection <paramref name="name"/>.</summary>
    /// <exception cref="VectorStoreException">The collection does not exist.</exception>
    /// <exception cref="InvalidOperationException">It holds other properties than <paramref name="layout"/>.</exception>
    internal CollectionRows Rows(string name, RecordLayout layout, string operation)
    {
        if (!_collections.TryGetValue(name, out var rows))
        {
            throw new VectorStoreException($"collection '{name}' does not exist; EnsureCollectionExistsAsync creates it")
            {
                VectorStoreSystemName = SystemName,
                CollectionName = name,
                OperationName = operation,
            };
        }

        return CheckSchema(name, rows, layout);
    }

    private static CollectionRows CheckSchema(string name, CollectionRows rows, RecordLayout layout) =>
        rows.Schema == layout.Schema ? rows
            : throw new InvalidOperationException($"collection '{name}' holds records of [{rows.Schema}], not [{layout.Schema}]");
}
