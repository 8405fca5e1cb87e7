using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Bge.Core;
using Bge.Server;
using Bge.Tests.Core;
using Bge.Tokenizer;

namespace Bge.Tests.Server;

/// <summary>
/// <c>POST /embed_colbert</c> on the real server serving the tiny bge-m3-shaped model: the library's and the reference's
/// ColBERT vectors, one array per input holding one per token but the first; TEI's embed request with its limits and
/// refusals; the same bits under concurrency beside /embed and /embed_sparse; 424 for a model without
/// <c>colbert_linear.pt</c>; and an 8,191-vector answer sent as it is written.
/// </summary>
[NonParallelizable]
public sealed class ColBertServerTests : TinyM3Server
{
    private static readonly Lazy<Embedder> Library = new(() => Embedder.Load(Model, new EmbedderOptions { Warning = _ => { } }));

    // The reference texts with ColBERT vectors, the empty one left out (TEI refuses empty inputs).
    private static List<M3OutputsGoldenTests.Text> Expected() =>
        M3OutputsGoldenTests.Read().Texts.Where(t => t.ColBert is not null && t.Value.Length > 0).ToList();

    private static float[][][] Vectors(string json) => JsonSerializer.Deserialize<float[][][]>(json)!;

    // Each input's vectors are those Embedder.EncodeOutputs gives its text: tokens − 1 of them, each of the hidden
    // width, every value within 1e-6.
    private static void AssertLibrary(float[][][] answer, IReadOnlyList<string> texts)
    {
        var embedder = Library.Value;
        var library = embedder.EncodeOutputs(texts, EncoderOutputs.ColBert).ColBert!;
        Assert.That(answer, Has.Length.EqualTo(texts.Count), "one array per input");
        for (var i = 0; i < texts.Count; i++)
        {
            var tokens = embedder.Tokenizer.Encode(texts[i], embedder.MaxLength).Length;
            Assert.That(answer[i], Has.Length.EqualTo(tokens - 1), $"input {i}: a vector per token but the first");
            Assert.That(answer[i].Select(v => v.Length).Distinct(), Is.EqualTo(new[] { embedder.Model.Config.HiddenSize }), $"input {i}: the hidden width");
            var worst = 0.0;
            for (var r = 0; r < answer[i].Length; r++)
            {
                var row = library[i].Row(r);
                for (var d = 0; d < row.Length; d++)
                {
                    worst = Math.Max(worst, Math.Abs(answer[i][r][d] - row[d]));
                }
            }

            Assert.That(worst, Is.LessThanOrEqualTo(1e-6), $"input {i}: largest difference from EncodeOutputs");
        }
    }

    [Test]
    public async Task TheVectorsAreTheLibrarysAndTheReferences()
    {
        var expected = Expected();
        var texts = expected.Select(t => t.Value).ToList();
        var answer = Vectors(await Post("/embed_colbert", new { inputs = texts }));
        AssertLibrary(answer, texts);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(answer[i], Has.Length.EqualTo(expected[i].Ids.Length - 1), $"text {i}");
            for (var r = 0; r < answer[i].Length; r++)
            {
                M3OutputsGoldenTests.Close(answer[i][r], expected[i].ColBert![r], $"text {i} ColBERT row {r}");
            }
        }
    }

    [Test]
    public async Task ASingleStringIsABatchOfOne()
    {
        var text = Expected()[2].Value;
        AssertLibrary(Vectors(await Post("/embed_colbert", new { inputs = text })), [text]);
    }

    [Test]
    public Task ConcurrentRequestsGetWhatEachGetsAlone() =>
        AssertConcurrentRequestsGetWhatEachGetsAlone("/embed_colbert", [.. Expected().Select(t => t.Value)]);

    [Test]
    public void APassHandsColBertVectorsOnlyToTheRowsThatAskedForThem()
    {
        var embedder = Library.Value;
        var texts = Expected().Take(3).Select(t => t.Value).ToList();
        var batch = new TokenBatch([.. texts.Select(t => embedder.Tokenizer.Encode(t, embedder.MaxLength))]);
        var compute = Computations.Embeddings(embedder);
        var rows = compute(batch, [EncoderOutputs.Dense, EncoderOutputs.ColBert, EncoderOutputs.None]);
        Assert.That(rows[0].ColBert, Is.Null, "a dense request sharing the pass holds no ColBERT vectors");
        Assert.That(rows[2].ColBert, Is.Null);
        Assert.That(rows[1].ColBert!.Data, Is.EqualTo(embedder.EncodeOutputs([texts[1]], EncoderOutputs.ColBert).ColBert![0].Data));
        Assert.That(compute(batch, [EncoderOutputs.None, EncoderOutputs.None, EncoderOutputs.None]).Select(r => r.ColBert), Is.All.Null);
        Assert.That(rows.Select(r => r.Sparse), Is.All.Not.Null, "lexical weights come with every pass");
    }

    [Test]
    public async Task ALongInputIsRefusedUnlessTruncatedAndItsAnswerIsSentAsItIsWritten()
    {
        var longest = await LongestRefusedUntruncated("/embed_colbert");

        // 8,191 vectors of 64 values, about 6 MB of JSON: no Content-Length, since the body was never whole to measure.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/embed_colbert") { Content = JsonContent.Create(new { inputs = longest, truncate = true }) };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.TransferEncodingChunked, Is.True, "sent chunked");
        Assert.That(response.Content.Headers.ContentLength, Is.Null);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        await using var body = await response.Content.ReadAsStreamAsync();
        var answer = (await JsonSerializer.DeserializeAsync<float[][][]>(body))!;
        Assert.That(answer[0], Has.Length.EqualTo(8191));
        AssertLibrary(answer, [longest]);
    }

    [Test]
    public async Task TheEmbeddingRoutesKeyLimitsAndRefusalsHoldForIt()
    {
        await using var server = await Start(Model, new ServerOptions { ApiKey = "s3cret", MaxClientBatchSize = 4, MaxConcurrentRequests = 2, PayloadLimit = 1000 });
        using var http = new HttpClient { BaseAddress = server.Address };
        async Task Refused(object body, int status, string says)
        {
            var (actual, message) = await ServerTests.ReadError(await http.PostAsJsonAsync("/embed_colbert", body), openAi: false);
            Assert.That(actual, Is.EqualTo(status), message);
            Assert.That(message, Does.Contain(says));
        }

        await Refused(new { inputs = "a" }, 401, "API key");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.That(Vectors(await (await http.PostAsJsonAsync("/embed_colbert", new { inputs = new[] { "a b", "c" } })).Content.ReadAsStringAsync()), Has.Length.EqualTo(2));
        await Refused(new { inputs = new string('x', 2000) }, 413, "--payload-limit");
        await Refused(new { inputs = new[] { "a", "b", "c", "d", "e" } }, 422, "--max-client-batch-size");
        await Refused(new { inputs = new[] { "a", "b", "c" } }, 429, "--max-concurrent-requests");
        await Refused(new { inputs = Array.Empty<string>() }, 422, "'inputs' is empty");
        await Refused(new { inputs = "a", prompt_name = "poem" }, 422, "prompt_name");
        await Refused(new { inputs = "a", truncation_direction = "Middle" }, 422, "truncation_direction");
    }

    [Test]
    public Task AModelWithoutTheColBertHeadAnswers424NamingTheFile() =>
        WithoutHead("colbert_linear.pt", "/embed_colbert", "ColBERT", async http =>
        {
            foreach (var route in new[] { "/embed", "/embed_sparse" })
            {
                using var response = await http.PostAsJsonAsync(route, new { inputs = "Hello world" });
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{route} needs no ColBERT head");
            }
        });
}
