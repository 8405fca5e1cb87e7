using System.Linq.Expressions;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Bge.Core.Search;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Bge.Extensions.VectorData;

/// <summary>
/// A collection of a <see cref="BgeVectorStore"/>: records held in memory, each vector a float32 row searched exactly
/// (every row scored, the best kept by <see cref="TopK"/>) with the property's distance function (see
/// <see cref="BgeVectorStore"/>). Records are copied in on upsert and made anew on every read. A vector property
/// of another type than float32 (a string, say) is embedded on upsert by the embedding generator set on the property,
/// the definition or the store; a search input that is not a vector goes through the same generator, as a retrieval
/// query (<see cref="Bge.Extensions.AI.BgeEmbeddingGenerator.InputTypeKey"/> set to <c>"query"</c>, so a
/// <see cref="Bge.Extensions.AI.BgeEmbeddingGenerator"/> adds its model's query instruction, as
/// <see cref="EmbeddingIndex.Search(Bge.Core.Embedder, string, int)"/> does). Safe for concurrent use: searches and
/// reads share the collection, writes hold it alone (embedding happens before either).
/// </summary>
/// <typeparam name="TKey">The key's type: any type with value equality (string, Guid, int, …); <see cref="object"/> for dynamic collections.</typeparam>
/// <typeparam name="TRecord">The record type, or <see cref="Dictionary{TKey, TValue}"/> of string to object for dynamic collections.</typeparam>
public sealed class BgeVectorStoreCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly BgeVectorStore _store;
    private readonly RecordLayout _layout;
    private readonly VectorStoreCollectionMetadata _metadata;

    internal BgeVectorStoreCollection(BgeVectorStore store, string name, CollectionModel model)
    {
        _store = store;
        Name = name;
        _layout = new RecordLayout(model);
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = BgeVectorStore.SystemName, CollectionName = name };
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) =>
        _store.CollectionExistsAsync(Name, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The collection exists with other properties than this view's.</exception>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        _store.Create(Name, _layout);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        _store.EnsureCollectionDeletedAsync(Name, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException"><see cref="RecordRetrievalOptions.IncludeVectors"/> with a vector property the store embeds.</exception>
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors);
        return Task.FromResult(Read(rows => rows.TryFind(key, out var slot) ? _layout.Read<TRecord>(rows, slot, includeVectors) : null));
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors);
        var wanted = keys.ToList();
        var found = Read(rows => wanted.Select(key => rows.TryFind(key, out var slot) ? _layout.Read<TRecord>(rows, slot, includeVectors) : null).OfType<TRecord>().ToList());
        foreach (var record in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The filter runs as <see cref="BgeVectorStore"/> describes. Orders compare values by their own comparison
    /// (strings ordinally, nulls first); without an order the records come in storage order.
    /// </remarks>
    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        var includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var predicate = FilterCompiler.Compile(filter, _layout);
        var orderBy = (options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values ?? [])
            .Select(sort => (Column: _layout.Column(_layout.Model.GetDataOrKeyProperty(sort.PropertySelector)), sort.Ascending))
            .ToList();
        var found = Read(rows =>
        {
            IEnumerable<int> slots = Enumerable.Range(0, rows.Count).Where(slot => predicate(rows.Values(slot)));
            if (orderBy.Count > 0)
            {
                var sorted = slots.Order(Comparer<int>.Create((a, b) => Compare(rows.Values(a), rows.Values(b), orderBy)));
                slots = sorted;
            }

            return slots.Skip(options.Skip).Take(top).Select(slot => _layout.Read<TRecord>(rows, slot, includeVectors)).ToList();
        });
        foreach (var record in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
    }

    /// <inheritdoc />
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        Write(rows => rows.Delete(key));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var doomed = keys.ToList();
        Write(rows => doomed.ForEach(key => rows.Delete(key)));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A vector's dimension is not its property's, or a key is missing.</exception>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>All records are embedded and checked before any is stored: a batch with a bad record stores nothing.</remarks>
    /// <exception cref="ArgumentException">A vector's dimension is not its property's, or a key is missing.</exception>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var batch = records.ToList();
        var keys = batch.Select(Key).ToList();
        var vectors = batch.Select(_ => new float[]?[_layout.VectorProperties.Length]).ToList();
        for (var c = 0; c < _layout.VectorProperties.Length; c++)
        {
            var property = _layout.VectorProperties[c];
            if (BgeModelBuilder.IsVectorType(property.Type))
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    vectors[i][c] = RecordLayout.NativeVector(property, batch[i], keys[i]);
                }

                continue;
            }

            // One generator call per property for the whole batch; records without an input get no vector.
            var inputs = Enumerable.Range(0, batch.Count).Select(i => (Index: i, Value: property.GetValueAsObject(batch[i]))).Where(x => x.Value is not null).ToList();
            if (inputs.Count == 0)
            {
                continue;
            }

            var embeddings = await property.GenerateEmbeddingsAsync(inputs.Select(x => x.Value), cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < inputs.Count; j++)
            {
                var i = inputs[j].Index;
                vectors[i][c] = RecordLayout.Checked(((Embedding<float>)embeddings[j]).Vector.ToArray(), property, $"record '{keys[i]}' (embedded by the generator)");
            }
        }

        var values = batch.Select(_layout.Values).ToList();
        Write(rows =>
        {
            for (var i = 0; i < batch.Count; i++)
            {
                rows.Upsert(keys[i], values[i], vectors[i]);
            }
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every record that has the searched vector and passes the filter is scored; the best <c>Skip + top</c> are kept
    /// and the first <c>Skip</c> dropped. Scores are similarities (higher first) or, for Euclidean distance, distances
    /// (lower first); ties go to the record stored first.
    /// </remarks>
    /// <exception cref="ArgumentException">The search vector's dimension is not the property's.</exception>
    /// <exception cref="NotSupportedException">The input is not a vector and no embedding generator takes it.</exception>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        var includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var property = _layout.Model.GetVectorPropertyOrSingle(options);
        var column = _layout.Column(property);
        var scoring = _layout.Scorings[column];
        var query = RecordLayout.Checked(await SearchVector(searchValue, property, cancellationToken).ConfigureAwait(false), property, "the search input");
        var queryNorm = TensorPrimitives.Norm(query);
        var predicate = options.Filter is null ? null : FilterCompiler.Compile(options.Filter, _layout);
        var results = Read(rows =>
        {
            var vectors = rows.Vectors(column);
            var wanted = checked(options.Skip + top);
            var best = new TopK(wanted);
            var candidates = Eligible(rows, vectors, predicate);
            if (vectors.SignBits)
            {
                candidates = Closest(vectors, query, candidates, (int)Math.Min((long)wanted * _store.RescoreMultiplier, int.MaxValue));
            }

            foreach (var slot in candidates)
            {
                var score = scoring.Score(query, queryNorm, vectors.Row(slot), vectors.Norm(slot));
                if (!float.IsNaN(score) && scoring.Meets(score, options.ScoreThreshold))
                {
                    best.Add(slot, scoring.Rank(score));
                }
            }

            return best.Best().Skip(options.Skip)
                .Select(hit => new VectorSearchResult<TRecord>(_layout.Read<TRecord>(rows, hit.Index, includeVectors), scoring.Rank(hit.Score)))
                .ToList();
        });
        foreach (var result in results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return result;
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    // The rows a search may return: those holding the vector and passing the filter.
    private static IEnumerable<int> Eligible(CollectionRows rows, VectorColumn vectors, Func<object?[], bool>? predicate) =>
        Enumerable.Range(0, rows.Count).Where(slot => vectors.Has(slot) && (predicate is null || predicate(rows.Values(slot))));

    // The candidates of a quantized column: the eligible rows whose sign bits are nearest the query's.
    private static IEnumerable<int> Closest(VectorColumn vectors, float[] query, IEnumerable<int> eligible, int count)
    {
        var signs = vectors.SignsOf(query);
        var closest = new TopK(count);
        foreach (var slot in eligible)
        {
            closest.Add(slot, -TensorPrimitives.HammingBitDistance<ulong>(signs, vectors.Signs(slot)));
        }

        return closest.Best().Select(hit => hit.Index);
    }

    private static int Compare(object?[] a, object?[] b, List<(int Column, bool Ascending)> orderBy)
    {
        foreach (var (column, ascending) in orderBy)
        {
            // Strings in ordinal order, as a database's binary collation sorts them, not by the current culture.
            var order = a[column] is string x && b[column] is string y ? string.CompareOrdinal(x, y) : Comparer<object?>.Default.Compare(a[column], b[column]);
            if (order != 0)
            {
                return ascending ? order : -order;
            }
        }

        return 0;
    }

    private async Task<float[]> SearchVector<TInput>(TInput input, VectorPropertyModel property, CancellationToken cancellationToken) where TInput : notnull
    {
        switch (input)
        {
            case ReadOnlyMemory<float> memory:
                return memory.ToArray();
            case float[] array:
                return array;
            case Embedding<float> embedding:
                return embedding.Vector.ToArray();
            case string text when property.EmbeddingGenerator is IEmbeddingGenerator<string, Embedding<float>> generator:
                var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [Bge.Extensions.AI.BgeEmbeddingGenerator.InputTypeKey] = "query" } };
                return (await generator.GenerateAsync([text], options, cancellationToken).ConfigureAwait(false))[0].Vector.ToArray();
            case var _ when property.EmbeddingGenerationDispatcher is not null:
                return ((Embedding<float>)await property.GenerateEmbeddingAsync(input, cancellationToken).ConfigureAwait(false)).Vector.ToArray();
            default:
                throw property.EmbeddingGenerator is null
                    ? new NotSupportedException(VectorDataStrings.InvalidSearchInputAndNoEmbeddingGeneratorWasConfigured(input.GetType(), BgeModelBuilder.VectorTypes))
                    : new InvalidOperationException(VectorDataStrings.IncompatibleEmbeddingGeneratorWasConfiguredForInputType(typeof(TInput), property.EmbeddingGenerator.GetType()));
        }
    }

    private object Key(TRecord record)
    {
        ArgumentNullException.ThrowIfNull(record, "records");
        var property = _layout.Model.KeyProperty;
        var key = property.GetValueAsObject(record);
        if (property.IsAutoGenerated && (key is null || Guid.Empty.Equals(key)))
        {
            key = Guid.NewGuid();
            property.SetValueAsObject(record, key);
        }

        return key ?? throw new ArgumentException($"a record has no key (property '{property.ModelName}' is null)", "records");
    }

    private bool CheckIncludeVectors(bool? includeVectors)
    {
        if (includeVectors == true && _layout.Model.EmbeddingGenerationRequired)
        {
            throw new NotSupportedException(VectorDataStrings.IncludeVectorsNotSupportedWithEmbeddingGeneration);
        }

        return includeVectors == true;
    }

    private T Read<T>(Func<CollectionRows, T> read)
    {
        var rows = _store.Rows(Name, _layout, nameof(Read));
        rows.Lock.EnterReadLock();
        try
        {
            return read(rows);
        }
        finally
        {
            rows.Lock.ExitReadLock();
        }
    }

    private void Write(Action<CollectionRows> write)
    {
        var rows = _store.Rows(Name, _layout, nameof(Write));
        rows.Lock.EnterWriteLock();
        try
        {
            write(rows);
        }
        finally
        {
            rows.Lock.ExitWriteLock();
        }
    }
}
