using Bge.Extensions.VectorData;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace Bge.Tests.VectorData;

/// <summary>Records in and out of a Bge collection through the abstractions only, as an application uses a vector store.</summary>
public sealed class VectorStoreRecordTests
{
    public sealed class GuidRecord
    {
        [VectorStoreKey]
        public Guid Id { get; set; }

        [VectorStoreData]
        public string Name { get; set; } = "";

        [VectorStoreVector(3)]
        public float[]? Vector { get; set; }
    }

    public sealed class IntRecord
    {
        [VectorStoreKey]
        public int Id { get; set; }

        [VectorStoreData]
        public double? Weight { get; set; }

        [VectorStoreVector(3, DistanceFunction = DistanceFunction.DotProductSimilarity)]
        public Embedding<float>? Vector { get; set; }
    }

    [Test]
    public async Task GetReturnsACopyOfTheRecordWithItsVectorOnlyWhenAsked()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var stored = Passages.Embedded()[2];

        var plain = await collection.GetAsync("coffee");
        Assert.That(plain, Is.Not.Null);
        Assert.That((plain!.Id, plain.Text, plain.Topic, plain.Year), Is.EqualTo((stored.Id, stored.Text, stored.Topic, stored.Year)));
        Assert.That(plain.Embedding.Length, Is.Zero);

        var withVector = await collection.GetAsync("coffee", new RecordRetrievalOptions { IncludeVectors = true });
        Assert.That(withVector!.Embedding.ToArray(), Is.EqualTo(stored.Embedding.ToArray()));

        // Copies both ways: changing what was read or what was written changes nothing stored.
        plain.Text = "changed";
        Assert.That((await collection.GetAsync("coffee"))!.Text, Is.EqualTo(stored.Text));
        Assert.That(await collection.GetAsync("no such key"), Is.Null);
    }

    [Test]
    public async Task UpsertReplacesByKeyAndDeleteRemovesSinglyAndInBatches()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var tides = Passages.Embedded()[1];
        tides.Year = 1999;
        await collection.UpsertAsync(tides);
        Assert.That((await collection.GetAsync("tides"))!.Year, Is.EqualTo(1999));
        Assert.That(await collection.GetAsync(r => true, top: 100).CountAsync(), Is.EqualTo(Passages.All.Length));

        var some = await collection.GetAsync(["bread", "missing", "marathon"]).Select(p => p.Id).ToListAsync();
        Assert.That(some, Is.EqualTo(new[] { "bread", "marathon" }));

        await collection.DeleteAsync("bread");
        await collection.DeleteAsync(["marathon", "missing", "attention"]);
        var left = await collection.GetAsync(r => true, top: 100).Select(p => p.Id).ToListAsync();
        Assert.That(left, Is.EquivalentTo(new[] { "tides", "coffee" }));

        // A deleted slot is filled by another record: search and get still agree on every key.
        foreach (var id in left)
        {
            var hit = await collection.SearchAsync((await collection.GetAsync(id, new() { IncludeVectors = true }))!.Embedding, top: 1).SingleAsync();
            Assert.That(hit.Record.Id, Is.EqualTo(id));
        }
    }

    [Test]
    public async Task GuidKeysLeftEmptyAreGeneratedAndIntKeysAndNullVectorsWork()
    {
        using var store = new BgeVectorStore();
        var guids = store.GetCollection<Guid, GuidRecord>("guids");
        await guids.EnsureCollectionExistsAsync();
        var given = Guid.NewGuid();
        var generated = new GuidRecord { Name = "generated", Vector = [1, 0, 0] };
        await guids.UpsertAsync([new GuidRecord { Id = given, Name = "given", Vector = [0, 1, 0] }, generated, new GuidRecord { Id = Guid.NewGuid(), Name = "no vector" }]);
        Assert.That(generated.Id, Is.Not.EqualTo(Guid.Empty));
        Assert.That((await guids.GetAsync(generated.Id))!.Name, Is.EqualTo("generated"));
        Assert.That((await guids.GetAsync(given))!.Name, Is.EqualTo("given"));
        // A record without a vector is stored and read, but no search finds it.
        var found = await guids.SearchAsync(new float[] { 1, 1, 1 }, top: 10).Select(r => r.Record.Name).ToListAsync();
        Assert.That(found, Is.EquivalentTo(new[] { "given", "generated" }));

        var ints = store.GetCollection<int, IntRecord>("ints");
        await ints.EnsureCollectionExistsAsync();
        await ints.UpsertAsync([new IntRecord { Id = 7, Weight = 0.5, Vector = new(new float[] { 1, 2, 3 }) }, new IntRecord { Id = 8, Vector = new(new float[] { 3, 2, 1 }) }]);
        var seven = await ints.GetAsync(7, new() { IncludeVectors = true });
        Assert.That((seven!.Weight, seven.Vector!.Vector.ToArray()), Is.EqualTo((0.5, new float[] { 1, 2, 3 })));
        Assert.That((await ints.GetAsync(8))!.Weight, Is.Null);
        var dot = await ints.SearchAsync(new float[] { 1, 0, 0 }, top: 2).ToListAsync();
        Assert.That(dot.Select(r => (r.Record.Id, r.Score)), Is.EqualTo(new[] { (8, (double?)3), (7, (double?)1) }));
    }

    [Test]
    public async Task ADynamicViewReadsAndFiltersTheSameRows()
    {
        using var store = new BgeVectorStore();
        await Passages.CollectionAsync(store);
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(string)),
                new VectorStoreDataProperty("Text", typeof(string)),
                new VectorStoreDataProperty("Topic", typeof(string)),
                new VectorStoreDataProperty("Year", typeof(int)),
                new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 384),
            ],
        };
        var dynamic = store.GetDynamicCollection("passages", definition);
        var food = await dynamic.GetAsync(r => (string)r["Topic"]! == "food", top: 10).Select(r => (string)r["Id"]!).ToListAsync();
        Assert.That(food, Is.EquivalentTo(new[] { "bread", "coffee" }));

        await dynamic.UpsertAsync(new Dictionary<string, object?> { ["Id"] = "new", ["Text"] = "t", ["Topic"] = "food", ["Year"] = 2024, ["Embedding"] = new ReadOnlyMemory<float>(new float[384]) });
        var typed = store.GetCollection<string, Passage>("passages");
        Assert.That((await typed.GetAsync("new"))!.Year, Is.EqualTo(2024));
    }

    [Test]
    public async Task CollectionsAreMadeListedAndDeletedAndAMissingOneIsAnError()
    {
        using var store = new BgeVectorStore();
        var collection = store.GetCollection<string, Passage>("b");
        Assert.That(await collection.CollectionExistsAsync(), Is.False);
        var missing = Assert.ThrowsAsync<VectorStoreException>(() => collection.UpsertAsync(Passages.Embedded()));
        Assert.That(missing!.Message, Does.Contain("'b' does not exist"));
        Assert.That(missing.CollectionName, Is.EqualTo("b"));

        await collection.EnsureCollectionExistsAsync();
        await collection.EnsureCollectionExistsAsync();
        await store.GetCollection<string, Passage>("a").EnsureCollectionExistsAsync();
        Assert.That(await store.ListCollectionNamesAsync().ToListAsync(), Is.EqualTo(new[] { "a", "b" }));

        // Another record shape cannot read rows it did not write.
        var other = store.GetCollection<Guid, GuidRecord>("b");
        Assert.ThrowsAsync<InvalidOperationException>(() => other.GetAsync(Guid.NewGuid()));

        await collection.EnsureCollectionDeletedAsync();
        Assert.That(await store.CollectionExistsAsync("b"), Is.False);
        Assert.That(await store.ListCollectionNamesAsync().ToListAsync(), Is.EqualTo(new[] { "a" }));
        Assert.That(store.GetService(typeof(VectorStoreMetadata)), Is.InstanceOf<VectorStoreMetadata>().With.Property("VectorStoreSystemName").EqualTo("bge"));
    }

    [Test]
    public async Task FilteredGetsOrderSkipAndTake()
    {
        using var store = new BgeVectorStore();
        var collection = await Passages.CollectionAsync(store);
        var since = 2020;
        var recent = await collection.GetAsync(r => r.Year >= since, top: 10, new() { OrderBy = o => o.Descending(r => r.Year) }).Select(r => r.Id).ToListAsync();
        Assert.That(recent, Is.EqualTo(new[] { "attention", "coffee", "tides", "marathon" }));
        var page = await collection.GetAsync(r => r.Topic != "sport", top: 2, new() { OrderBy = o => o.Ascending(r => r.Topic).Descending(r => r.Year), Skip = 1 }).Select(r => r.Id).ToListAsync();
        Assert.That(page, Is.EqualTo(new[] { "bread", "attention" }));
    }

    [Test]
    public async Task AVectorOfTheWrongDimensionIsRefusedAndNothingOfItsBatchIsStored()
    {
        using var store = new BgeVectorStore();
        var collection = store.GetCollection<string, Passage>("p");
        await collection.EnsureCollectionExistsAsync();
        var records = Passages.Embedded();
        records[3].Embedding = new float[] { 1, 2, 3 };
        var error = Assert.ThrowsAsync<ArgumentException>(() => collection.UpsertAsync(records));
        Assert.That(error!.Message, Does.Contain("record 'marathon'").And.Contain("'Embedding' takes 384-dimensional vectors, not 3-dimensional"));
        Assert.That(await collection.GetAsync(r => true, top: 10).CountAsync(), Is.Zero);

        await collection.UpsertAsync(Passages.Embedded());
        var search = Assert.ThrowsAsync<ArgumentException>(async () => await collection.SearchAsync(new float[] { 1, 2 }, top: 1).ToListAsync());
        Assert.That(search!.Message, Does.Contain("the search input").And.Contain("not 2-dimensional"));
    }
}
