using System.Numerics.Tensors;
using Bge.Core;
using Bge.Extensions.VectorData;
using Microsoft.Extensions.VectorData;

namespace Bge.Tests.VectorData;

/// <summary>
/// Vector search in a Bge collection with arctic-xs embeddings, against the engine's own similarities for the same
/// texts: rankings, scores, paging, filters, distance functions and text search through the embedding generator.
/// </summary>
public sealed class VectorStoreSearchTests
{
    private const string Query = "what makes bread rise";

    /// <summary>The engine's ranking of the passages for <paramref name="query"/> (as a retrieval query): ids and scores, best first.</summary>
    private static (string Id, float Score)[] EngineRanking(string query)
    {
        var embedder = Passages.Embedder;
        var scores = Embedder.Similarity(embedder.EncodeQueries([query]), embedder.EncodeCorpus([.. Passages.All.Select(p => p.Text)]));
        return [.. Passages.All.Select((p, i) => (p.Id, scores.Row(0)[i])).OrderByDescending(x => x.Item2)];
    }

    private static float[] QueryVector(string query) => Passages.Embedder.EncodeQueries([query]).RowArray(0);

    private static VectorStoreCollectionDefinition Scored(string distanceFunction, Type? vectorType = null, int dimensions = 384) => new()
    {
        Properties = [new VectorStoreVectorProperty("Embedding", vectorType ?? typeof(ReadOnlyMemory<float>), dimensions) { DistanceFunction = distanceFunction }],
    };

    [Test]
    public async Task SearchRanksAndScoresAsTheEngineDoes()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var hits = await collection.SearchAsync(QueryVector(Query), top: Passages.All.Length).ToListAsync();
        var expected = EngineRanking(Query);
        Assert.That(hits.Select(h => h.Record.Id), Is.EqualTo(expected.Select(e => e.Id)));
        Assert.That(hits.Select(h => h.Score!.Value), Is.EqualTo(expected.Select(e => (double)e.Score)).Within(1e-5));
        Assert.That(hits[0].Record.Id, Is.EqualTo("bread"));
        Assert.That(hits[0].Record.Embedding.Length, Is.Zero);

        var withVectors = await collection.SearchAsync(QueryVector(Query), top: 1, new() { IncludeVectors = true }).SingleAsync();
        Assert.That(withVectors.Record.Embedding.ToArray(), Is.EqualTo(Passages.Embedded()[0].Embedding.ToArray()));
    }

    [Test]
    public async Task TopAndSkipPageThroughTheRanking()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var query = QueryVector("ocean tides and the moon");
        var all = await collection.SearchAsync(query, top: 10).Select(h => h.Record.Id).ToListAsync();
        var pages = new List<string>();
        for (var skip = 0; skip < 6; skip += 2)
        {
            pages.AddRange(await collection.SearchAsync(query, top: 2, new() { Skip = skip }).Select(h => h.Record.Id).ToListAsync());
        }

        Assert.That(all, Has.Count.EqualTo(Passages.All.Length));
        Assert.That(all[0], Is.EqualTo("tides"));
        Assert.That(pages, Is.EqualTo(all));
    }

    [Test]
    public async Task TextIsEmbeddedByTheGeneratorAsDocumentsOnUpsertAndAsAQueryOnSearch()
    {
        using var generator = Passages.Generator();
        using var store = new BgeVectorStore(generator);
        var collection = store.GetCollection<int, TextPassage>("texts");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(Passages.All.Select((p, i) => new TextPassage { Id = i, Text = p.Text, Topic = p.Topic }));

        var hits = await collection.SearchAsync(Query, top: Passages.All.Length).ToListAsync();
        var expected = EngineRanking(Query);
        Assert.That(hits.Select(h => Passages.All[h.Record.Id].Id), Is.EqualTo(expected.Select(e => e.Id)));
        Assert.That(hits.Select(h => h.Score!.Value), Is.EqualTo(expected.Select(e => (double)e.Score)).Within(1e-5));
        Assert.That(hits[0].Record.Text, Is.EqualTo(Passages.All[0].Text));

        // The vectors were made by the store, which keeps no input to give back as the property.
        Assert.ThrowsAsync<NotSupportedException>(async () => await collection.SearchAsync(Query, top: 1, new() { IncludeVectors = true }).ToListAsync());

        // A collection of given vectors still takes text to search with, through the same generator.
        var given = await Passages.CollectionAsync(store, "given");
        var byText = await given.SearchAsync(Query, top: 1).SingleAsync();
        Assert.That((byText.Record.Id, byText.Score!.Value), Is.EqualTo(("bread", (double)expected[0].Score)).Within(1e-5));
    }

    [Test]
    public async Task TextWithoutAGeneratorIsRefused()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var error = Assert.ThrowsAsync<NotSupportedException>(async () => await collection.SearchAsync(Query, top: 1).ToListAsync());
        Assert.That(error!.Message, Does.Contain("no embedding generator was configured"));
    }

    [Test]
    public async Task FiltersNarrowTheSearchToMatchingRecords()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var query = QueryVector(Query);
        async Task<List<string>> Found(System.Linq.Expressions.Expression<Func<Passage, bool>> filter) =>
            await collection.SearchAsync(query, top: 10, new() { Filter = filter }).Select(h => h.Record.Id).ToListAsync();

        var after = 2020;
        Assert.That(await Found(r => r.Topic == "science" && r.Year > after), Is.EquivalentTo(new[] { "tides", "attention" }));
        string[] topics = ["sport", "food"];
        Assert.That(await Found(r => topics.Contains(r.Topic)), Is.EquivalentTo(new[] { "bread", "coffee", "marathon" }));
        Assert.That(await Found(r => !(r.Topic == "food") || r.Year == 2019), Is.EquivalentTo(new[] { "bread", "tides", "marathon", "attention" }));
        Assert.That(await Found(r => r.Text.StartsWith("Tides") && r.Id != "x"), Is.EqualTo(new[] { "tides" }));

        // The ranking inside the filter is the unfiltered ranking with the others removed.
        var food = await Found(r => r.Topic == "food");
        Assert.That(food, Is.EqualTo(EngineRanking(Query).Select(e => e.Id).Where(id => id is "bread" or "coffee")));
    }

    [Test]
    public async Task FiltersThatCannotRunOverStoredValuesAreRefusedByName()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var query = QueryVector(Query);
        var vector = Assert.ThrowsAsync<NotSupportedException>(async () =>
            await collection.SearchAsync(query, top: 1, new() { Filter = r => r.Embedding.Length > 0 }).ToListAsync());
        Assert.That(vector!.Message, Does.Contain("vector property 'Embedding'"));
        var record = Assert.ThrowsAsync<NotSupportedException>(async () =>
            await collection.GetAsync(r => r.ToString() == "x", top: 1).ToListAsync());
        Assert.That(record!.Message, Does.Contain("uses the record itself"));
    }

    [Test]
    public async Task DotProductAndEuclideanScoreAsTheyAreDefined()
    {
        using var store = new BgeVectorStore();
        var documents = Passages.Embedded();
        var query = QueryVector(Query);

        var dot = store.GetCollection<string, Passage>("dot", Scored(DistanceFunction.DotProductSimilarity));
        await dot.EnsureCollectionExistsAsync();
        await dot.UpsertAsync(documents);
        var dotHits = await dot.SearchAsync(query, top: 10).ToListAsync();
        Assert.That(dotHits.Select(h => h.Record.Id), Is.EqualTo(EngineRanking(Query).Select(e => e.Id)));
        Assert.That(dotHits.Select(h => h.Score!.Value), Is.EqualTo(dotHits.Select(h => (double)TensorPrimitives.Dot(query, documents.Single(d => d.Id == h.Record.Id).Embedding.Span))));

        var euclid = store.GetCollection<string, Passage>("euclid", Scored(DistanceFunction.EuclideanDistance));
        await euclid.EnsureCollectionExistsAsync();
        await euclid.UpsertAsync(documents);
        var near = await euclid.SearchAsync(query, top: 10).ToListAsync();
        var distances = documents.Select(d => (d.Id, Distance: (double)TensorPrimitives.Distance(query, d.Embedding.Span))).OrderBy(x => x.Distance).ToList();
        Assert.That(near.Select(h => (h.Record.Id, h.Score!.Value)), Is.EqualTo(distances));
        Assert.That(near[0].Record.Id, Is.EqualTo("bread"));

        // A threshold keeps scores at least it for similarities, at most it for distances.
        var cutoff = (distances[1].Distance + distances[2].Distance) / 2;
        Assert.That(await euclid.SearchAsync(query, top: 10, new() { ScoreThreshold = cutoff }).CountAsync(), Is.EqualTo(2));
        var cosine = await Passages.CollectionAsync(store);
        var ranking = EngineRanking(Query);
        Assert.That(await cosine.SearchAsync(query, top: 10, new() { ScoreThreshold = (ranking[2].Score + ranking[3].Score) / 2 }).CountAsync(), Is.EqualTo(3));
    }

    [TestCase(DistanceFunction.ManhattanDistance)]
    [TestCase(DistanceFunction.HammingDistance)]
    [TestCase(DistanceFunction.CosineDistance)]
    [TestCase(DistanceFunction.NegativeDotProductSimilarity)]
    [TestCase(DistanceFunction.EuclideanSquaredDistance)]
    public void OtherDistanceFunctionsAreRefusedByName(string distanceFunction)
    {
        using var store = new BgeVectorStore();
        var error = Assert.Throws<NotSupportedException>(() => store.GetCollection<string, Passage>("p", Scored(distanceFunction)));
        Assert.That(error!.Message, Does.Contain($"'{distanceFunction}'").And.Contain("CosineSimilarity"));
        var approximate = new VectorStoreCollectionDefinition { Properties = [new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 384) { IndexKind = IndexKind.Hnsw }] };
        Assert.That(Assert.Throws<NotSupportedException>(() => store.GetCollection<string, Passage>("p", approximate))!.Message, Does.Contain("'Hnsw'").And.Contain("QuantizedFlat"));
    }

    private static VectorStoreCollectionDefinition QuantizedFlat(int dimensions = 384) => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Id", typeof(string)),
            new VectorStoreDataProperty("Topic", typeof(string)),
            new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), dimensions) { IndexKind = IndexKind.QuantizedFlat },
        ],
    };

    [Test]
    public async Task QuantizedFlatWithEveryRowACandidateIsTheExactSearch()
    {
        using var store = new BgeVectorStore { RescoreMultiplier = 10 };
        var exact = await Passages.CollectionAsync(store, "exact");
        var quantized = store.GetCollection<string, Passage>("quantized", QuantizedFlat());
        await quantized.EnsureCollectionExistsAsync();
        await quantized.UpsertAsync(Passages.Embedded());
        // A delete moves the last row into the gap, sign bits included.
        await exact.DeleteAsync("coffee");
        await quantized.DeleteAsync("coffee");
        foreach (var text in new[] { Query, "ocean tides and the moon", "running a long race" })
        {
            var query = QueryVector(text);
            foreach (var options in new VectorSearchOptions<Passage>[] { new(), new() { Skip = 1 }, new() { Filter = r => r.Topic == "science" }, new() { ScoreThreshold = 0.3 } })
            {
                var expected = await exact.SearchAsync(query, top: 3, options).Select(h => (h.Record.Id, h.Score)).ToListAsync();
                Assert.That(await quantized.SearchAsync(query, top: 3, options).Select(h => (h.Record.Id, h.Score)).ToListAsync(), Is.EqualTo(expected), text);
            }
        }

        var flatView = store.GetCollection<string, Passage>("quantized");
        Assert.That(Assert.ThrowsAsync<InvalidOperationException>(() => flatView.GetAsync("bread"))!.Message, Does.Contain("QuantizedFlat"));
    }

    [Test]
    public async Task QuantizedFlatRescoresTheRowsWhoseSignBitsAreNearest()
    {
        // One candidate per result: the results are the rows nearest by Hamming distance, worked out here with the
        // quantizer and the reference distance, then ordered by their exact scores.
        var vectors = Bge.Tests.Compression.QuantizedIndexTests.UnitVectors(400, 64, 21);
        var queries = Bge.Tests.Compression.QuantizedIndexTests.UnitVectors(5, 64, 22);
        var codes = Bge.Core.Compression.EmbeddingQuantizer.Quantize(vectors, Bge.Core.Compression.VectorQuantization.UBinary);
        using var store = new BgeVectorStore { RescoreMultiplier = 1 };
        var collection = store.GetCollection<string, Passage>("random", QuantizedFlat(64));
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(Enumerable.Range(0, 400).Select(i => new Passage { Id = $"{i}", Embedding = vectors.RowArray(i) }));
        for (var q = 0; q < queries.Rows; q++)
        {
            var bits = Bge.Core.Compression.EmbeddingQuantizer.Quantize(new EmbeddingMatrix(queries.RowArray(q), 1, 64), Bge.Core.Compression.VectorQuantization.UBinary).Row(0).ToArray();
            var expected = Enumerable.Range(0, 400).OrderBy(d => Bge.Core.Kernels.CodeDistance.ReferenceHamming(bits, codes.Row(d))).ThenBy(d => d).Take(8)
                .Select(d => (Id: $"{d}", Score: TensorPrimitives.Dot(queries.Row(q), vectors.Row(d)) / (TensorPrimitives.Norm(queries.Row(q)) * TensorPrimitives.Norm(vectors.Row(d)))))
                .OrderByDescending(x => x.Score).ThenBy(x => int.Parse(x.Id, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var hits = await collection.SearchAsync(queries.RowArray(q), top: 8).ToListAsync();
            Assert.That(hits.Select(h => h.Record.Id), Is.EqualTo(expected.Select(e => e.Id)), $"query {q}");
            Assert.That(hits.Select(h => h.Score!.Value), Is.EqualTo(expected.Select(e => (double)e.Score)).Within(1e-6));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new BgeVectorStore { RescoreMultiplier = 0 });
    }

    [Test]
    public async Task AGeneratorMakingAnotherDimensionThanThePropertyDeclaresIsAnError()
    {
        using var generator = Passages.Generator();
        using var store = new BgeVectorStore(generator);
        var collection = store.GetCollection<int, TextPassage>("wide", Scored(DistanceFunction.CosineSimilarity, typeof(string), dimensions: 768));
        await collection.EnsureCollectionExistsAsync();
        var error = Assert.ThrowsAsync<ArgumentException>(() => collection.UpsertAsync(new TextPassage { Id = 1, Text = "x" }));
        Assert.That(error!.Message, Does.Contain("record '1' (embedded by the generator)").And.Contain("takes 768-dimensional vectors, not 384-dimensional"));
    }
}
