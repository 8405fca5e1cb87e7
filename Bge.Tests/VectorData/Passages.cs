using Bge.Core;
using Bge.Extensions.AI;
using Bge.Tests.Core;
using Microsoft.Extensions.VectorData;

namespace Bge.Tests.VectorData;

/// <summary>A record with its vector given by the application, as the abstractions' attributes map it.</summary>
public sealed class Passage
{
    [VectorStoreKey]
    public string Id { get; set; } = "";

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreData(IsIndexed = true)]
    public string Topic { get; set; } = "";

    [VectorStoreData]
    public int Year { get; set; }

    [VectorStoreVector(384)]
    public ReadOnlyMemory<float> Embedding { get; set; }
}

/// <summary>A record whose vector the store embeds from its text through the collection's embedding generator.</summary>
public sealed class TextPassage
{
    [VectorStoreKey]
    public int Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreData]
    public string Topic { get; set; } = "";

    [VectorStoreVector(384)]
    public string Embedding => Text;
}

/// <summary>Five short documents, their topics and years, and the arctic-xs model that embeds them.</summary>
internal static class Passages
{
    public static readonly (string Id, string Topic, int Year, string Text)[] All =
    [
        ("bread", "food", 2019, "Yeast ferments the sugars in dough and releases carbon dioxide, which makes bread rise."),
        ("tides", "science", 2021, "Tides are caused by the gravitational pull of the moon and the sun on the oceans."),
        ("coffee", "food", 2022, "Espresso is brewed by forcing hot water through finely ground coffee beans."),
        ("marathon", "sport", 2020, "A marathon is a long-distance foot race of 42.195 kilometres."),
        ("attention", "science", 2023, "Transformer models use self-attention to relate every token of a sentence to every other token."),
    ];

    public static Embedder Embedder => GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");

    public static BgeEmbeddingGenerator Generator() => new(Embedder);

    /// <summary>The documents as records, each embedded by the engine as a document.</summary>
    public static List<Passage> Embedded()
    {
        var vectors = Embedder.EncodeCorpus([.. All.Select(p => p.Text)]);
        return [.. All.Select((p, i) => new Passage { Id = p.Id, Topic = p.Topic, Year = p.Year, Text = p.Text, Embedding = vectors.RowArray(i) })];
    }

    /// <summary>A new collection of <see cref="Embedded"/> passages.</summary>
    public static async Task<VectorStoreCollection<string, Passage>> CollectionAsync(VectorStore store, string name = "passages")
    {
        var collection = store.GetCollection<string, Passage>(name);
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(Embedded());
        return collection;
    }
}
