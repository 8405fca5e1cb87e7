using Bge.Extensions.AI;
using Bge.Tests.Core;
using Microsoft.Extensions.AI;

namespace Bge.Tests.Extensions;

/// <summary>The engine used only through Microsoft.Extensions.AI's interface, as an application would.</summary>
public sealed class EmbeddingGeneratorTests
{
    private static IEmbeddingGenerator<string, Embedding<float>> Generator() =>
        new BgeEmbeddingGenerator(GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs"));

    [Test]
    public async Task GeneratesTheEngineEmbeddingsThroughTheInterface()
    {
        using var generator = Generator();
        string[] texts = ["I love machine learning and nlp", "embedding"];
        var embeddings = await generator.GenerateAsync(texts);
        var engine = GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        Assert.That(embeddings, Has.Count.EqualTo(2));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(embeddings[i].Vector.ToArray(), Is.EqualTo(engine.EncodeCorpus([texts[i]]).RowArray(0)).Within(1e-6));
            Assert.That(embeddings[i].ModelId, Is.EqualTo("snowflake-arctic-embed-xs"));
        }

        var single = await generator.GenerateVectorAsync("embedding");
        Assert.That(single.ToArray(), Is.EqualTo(embeddings[1].Vector.ToArray()).Within(1e-6));
    }

    [Test]
    public async Task QueriesAreEmbeddedWithTheModelsInstructionWhenAsked()
    {
        using var generator = Generator();
        var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [BgeEmbeddingGenerator.InputTypeKey] = "query" } };
        var query = await generator.GenerateAsync(["what is a vector database"], options);
        var engine = GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        Assert.That(query[0].Vector.ToArray(), Is.EqualTo(engine.EncodeQueries(["what is a vector database"]).RowArray(0)).Within(1e-6));
        Assert.That(query[0].Vector.ToArray(), Is.Not.EqualTo(engine.EncodeCorpus(["what is a vector database"]).RowArray(0)));
    }

    [Test]
    public void DescribesItselfAndRefusesOtherDimensionsAndCancelledCalls()
    {
        using var generator = Generator();
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.That(metadata!.DefaultModelId, Is.EqualTo("snowflake-arctic-embed-xs"));
        Assert.That(metadata.DefaultModelDimensions, Is.EqualTo(384));
        Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 256 }));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.CatchAsync<OperationCanceledException>(() => generator.GenerateAsync(["x"], null, cancelled.Token));
    }
}
