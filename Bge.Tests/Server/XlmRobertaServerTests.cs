using System.Net.Http.Json;
using System.Text.Json;
using Bge.Tests.Core;

namespace Bge.Tests.Server;

/// <summary>The real server on a loopback port serving the tiny bge-m3-shaped XLM-R model: the same routes, Hugging Face's vectors and tokens.</summary>
[NonParallelizable]
public sealed class XlmRobertaServerTests : TinyM3Server
{
    [Test]
    public async Task TeiEmbedGivesTheReferenceVectorsForTextsUpTo8192Tokens()
    {
        // TEI refuses empty inputs, so the empty text of the reference set is left out; the longest text is cut at 8,192
        // tokens, as the reference was.
        var expected = XlmRobertaGoldenTests.ReadExpected().Where(e => e.Text.Length > 0).ToList();
        using var response = await Http.PostAsJsonAsync("/embed", new { inputs = expected.Select(e => e.Text).ToArray(), truncate = true });
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
        var vectors = await response.Content.ReadFromJsonAsync<float[][]>();
        Assert.That(vectors, Has.Length.EqualTo(expected.Count));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(GoldenEmbeddingTests.Compare(vectors![i], expected[i].Dense).Cosine, Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
        }
    }

    [Test]
    public async Task TeiTokenizeGivesHuggingFacesIdsAndMarksTheTemplatesSpecials()
    {
        using var response = await Http.PostAsJsonAsync("/tokenize", new { inputs = "end. <mask>x" });
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var tokens = document.RootElement[0].EnumerateArray().ToList();
        Assert.That(tokens.Select(t => t.GetProperty("id").GetInt32()), Is.EqualTo(new[] { 0, 2432, 15, 8001, 4, 70, 2 }), "the xlmr README's known answer");
        var special = tokens.Select(t => t.GetProperty("special").GetBoolean()).ToList();
        Assert.That((special[0], special[1], special[2], special[^1]), Is.EqualTo((true, false, false, true)), "the template's <s> and </s> are special, the text's pieces are not");
        Assert.That((tokens[0].GetProperty("text").GetString(), tokens[^1].GetProperty("text").GetString()), Is.EqualTo(("<s>", "</s>")));
    }
}
