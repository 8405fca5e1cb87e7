using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Bge.Core;
using Bge.Server;
using Bge.Tests.Core;

namespace Bge.Tests.Server;

/// <summary>
/// TEI's <c>POST /embed_sparse</c> on the real server serving the tiny bge-m3-shaped model: the reference lexical
/// weights in TEI's shape (<c>[[{"index", "value"}, …], …]</c>, ids ascending), the same answers under concurrency,
/// TEI's 424 for a model without <c>sparse_linear.pt</c>, and /embed beside it.
/// </summary>
[NonParallelizable]
public sealed class SparseServerTests : TinyM3Server
{
    // The reference texts with lexical weights, the empty one left out (TEI refuses empty inputs).
    private static List<M3OutputsGoldenTests.Text> Expected() =>
        M3OutputsGoldenTests.Read().Texts.Where(t => t.Sparse is not null && t.Value.Length > 0).ToList();

    private static List<(int Index, float Value)> Entries(JsonElement list) =>
        [.. list.EnumerateArray().Select(e => (e.GetProperty("index").GetInt32(), e.GetProperty("value").GetSingle()))];

    [Test]
    public async Task TheLexicalWeightsAreTheReferencesInTeisShapeOrderedByTokenId()
    {
        var expected = Expected();
        using var document = JsonDocument.Parse(await Post("/embed_sparse", new { inputs = expected.Select(t => t.Value).ToArray() }));
        Assert.That(document.RootElement.GetArrayLength(), Is.EqualTo(expected.Count), "one list per input");
        for (var i = 0; i < expected.Count; i++)
        {
            var list = document.RootElement[i];
            Assert.That(list.EnumerateArray().All(e => e.EnumerateObject().Select(p => p.Name).SequenceEqual(["index", "value"])), Is.True, "TEI's SparseValue: {index, value}");
            var entries = Entries(list);
            Assert.That(entries.Select(e => e.Index), Is.EqualTo(expected[i].Sparse!.Keys.Order()), $"text {i}: the reference's ids, ascending");
            foreach (var (index, value) in entries)
            {
                Assert.That(value, Is.EqualTo(expected[i].Sparse![index]).Within(1e-4), $"text {i} weight of id {index}");
            }
        }

        // A single string is a batch of one, as TEI answers it.
        using var single = JsonDocument.Parse(await Post("/embed_sparse", new { inputs = expected[2].Value }));
        Assert.That(single.RootElement.GetArrayLength(), Is.EqualTo(1));
        Assert.That(Entries(single.RootElement[0]).Select(e => e.Index), Is.EqualTo(expected[2].Sparse!.Keys.Order()));
    }

    [Test]
    public Task ConcurrentRequestsGetWhatEachGetsAlone() =>
        AssertConcurrentRequestsGetWhatEachGetsAlone("/embed_sparse", [.. Expected().Select(t => t.Value)]);

    [Test]
    public async Task EmbedStillGivesTheReferenceVectorsOnTheSameServer()
    {
        var expected = Expected().Take(6).ToList();
        var vectors = JsonSerializer.Deserialize<float[][]>(await Post("/embed", new { inputs = expected.Select(t => t.Value).ToArray() }))!;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(GoldenEmbeddingTests.Compare(vectors[i], expected[i].Dense).Cosine, Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
        }
    }

    [Test]
    public async Task EmptyInputsAre422AsForEmbed()
    {
        foreach (var inputs in new object[] { Array.Empty<string>(), "" })
        {
            foreach (var route in new[] { "/embed", "/embed_sparse" })
            {
                using var response = await Http.PostAsJsonAsync(route, new { inputs });
                var (status, message) = await ServerTests.ReadError(response, openAi: false);
                Assert.That(status, Is.EqualTo(422), $"{route}: {message}");
                Assert.That(message, Does.Contain("'inputs'"));
            }
        }
    }

    [Test]
    public async Task TruncationIsReadAsEmbedReadsIt()
    {
        var longest = await LongestRefusedUntruncated("/embed_sparse");

        var right = await Post("/embed_sparse", new { inputs = longest, truncate = true });
        var left = await Post("/embed_sparse", new { inputs = longest, truncate = true, truncation_direction = "Left" });
        Assert.That(left, Is.Not.EqualTo(right), "Left keeps the text's end");
    }

    [Test]
    public Task AModelWithoutTheSparseHeadAnswers424NamingTheFile() =>
        WithoutHead("sparse_linear.pt", "/embed_sparse", "sparse", async http =>
        {
            using var embed = await http.PostAsJsonAsync("/embed", new { inputs = "Hello world" });
            Assert.That(embed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "dense embeddings need no head");
        });
}
