using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Pooling;
using Bge.Server;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;

namespace Bge.Tests.Server;

/// <summary>
/// The real server on a loopback port, spoken to by real clients (OpenAI's .NET SDK, Microsoft.Extensions.AI over
/// it, and plain HTTP for TEI's routes): every vector must be the library's own bits for the same text alone.
/// </summary>
[NonParallelizable]
public sealed class ServerTests
{
    internal static readonly string[] Texts = ["I love machine learning and nlp", "embedding", "A man is playing a guitar.", "Ünïcödé, punctuation — and CAPITALS!"];

    private Embedder _embedder = null!;
    private EmbeddingServer _server = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _embedder = Embedder.Load(TestPaths.Arctic);
        _server = await ServerHarness.Start(() => _embedder, new ServerOptions { Port = 0 });
        _http = new HttpClient { BaseAddress = _server.Address };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private EmbeddingClient OpenAiClient(string? key = "unused") =>
        new("snowflake-arctic-embed-xs", new ApiKeyCredential(key!), new OpenAIClientOptions { Endpoint = new Uri(_server.Address, "v1") });

    [Test]
    public async Task OpenAiSdkGetsTheLibrarysVectors()
    {
        var client = OpenAiClient();
        var one = await client.GenerateEmbeddingAsync(Texts[0]);
        Assert.That(one.Value.ToFloats().ToArray(), Is.EqualTo(_embedder.Encode(Texts[0])));

        var many = await client.GenerateEmbeddingsAsync(Texts);
        Assert.That(many.Value, Has.Count.EqualTo(Texts.Length));
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(many.Value[i].Index, Is.EqualTo(i));
            Assert.That(many.Value[i].ToFloats().ToArray(), Is.EqualTo(_embedder.Encode(Texts[i])), Texts[i]);
        }

        Assert.That(many.Value.Usage.InputTokenCount, Is.EqualTo(Texts.Sum(t => _embedder.Tokenizer.Encode(t).Length)));
    }

    [Test]
    public async Task OpenAiDimensionsCutThenRenormalize()
    {
        var cut = await OpenAiClient().GenerateEmbeddingAsync(Texts[2], new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 128 });
        var expected = _embedder.Encode(Texts[2], new EncodeOptions { Normalize = false })[..128];
        L2Normalize.InPlace(expected, _embedder.Model.Simd);
        Assert.That(cut.Value.ToFloats().ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public async Task MicrosoftExtensionsAiOverTheOpenAiClientGetsTheLibrarysVectors()
    {
        using var generator = OpenAiClient().AsIEmbeddingGenerator();
        var embeddings = await generator.GenerateAsync(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(embeddings[i].Vector.ToArray(), Is.EqualTo(_embedder.Encode(Texts[i])));
        }
    }

    [Test]
    public async Task OpenAiInputTypeQueryAppliesTheModelsInstruction()
    {
        using var query = await Post("/v1/embeddings", new { input = "what is a vector database", input_type = "query" });
        using var document = await Post("/v1/embeddings", new { input = "what is a vector database", input_type = "document" });
        Assert.That(Vector(query, 0), Is.EqualTo(_embedder.EncodeQueries(["what is a vector database"]).RowArray(0)));
        Assert.That(Vector(document, 0), Is.EqualTo(_embedder.Encode("what is a vector database")));
    }

    [Test]
    public async Task FloatAndBase64EncodingsCarryTheSameBits()
    {
        using var asFloats = await Post("/v1/embeddings", new { input = Texts, encoding_format = "float" });
        using var asBase64 = await Post("/v1/embeddings", new { input = Texts, encoding_format = "base64" });
        for (var i = 0; i < Texts.Length; i++)
        {
            var floats = asFloats.RootElement.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var bytes = Convert.FromBase64String(asBase64.RootElement.GetProperty("data")[i].GetProperty("embedding").GetString()!);
            var decoded = new float[bytes.Length / 4];
            for (var j = 0; j < decoded.Length; j++)
            {
                decoded[j] = BitConverter.ToSingle(bytes, j * 4);
            }

            Assert.That(floats, Is.EqualTo(_embedder.Encode(Texts[i])));
            Assert.That(decoded, Is.EqualTo(floats));
        }

        Assert.That(asFloats.RootElement.GetProperty("object").GetString(), Is.EqualTo("list"));
        Assert.That(asFloats.RootElement.GetProperty("data")[0].GetProperty("object").GetString(), Is.EqualTo("embedding"));
    }

    [Test]
    public async Task TokenIdInputsAreTakenAsGiven()
    {
        var ids = _embedder.Tokenizer.Encode(Texts[0]).Ids;
        using var one = await Post("/v1/embeddings", new { input = ids });
        using var two = await Post("/v1/embeddings", new { input = new[] { ids, _embedder.Tokenizer.Encode(Texts[1]).Ids } });
        Assert.That(Vector(one, 0), Is.EqualTo(_embedder.Encode(Texts[0])));
        Assert.That(Vector(two, 1), Is.EqualTo(_embedder.Encode(Texts[1])));
    }

    [Test]
    public async Task TeiEmbedNormalizeAndQueryPrompt()
    {
        using var normalized = await Post("/embed", new { inputs = Texts });
        using var raw = await Post("/embed", new { inputs = Texts[0], normalize = false });
        using var query = await Post("/embed", new { inputs = "what is a vector database", prompt_name = "query" });
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(normalized.RootElement[i].EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(_embedder.Encode(Texts[i])));
        }

        Assert.That(raw.RootElement[0].EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(_embedder.Encode(Texts[0], new EncodeOptions { Normalize = false })));
        Assert.That(query.RootElement[0].EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(_embedder.EncodeQueries(["what is a vector database"]).RowArray(0)));
    }

    [Test]
    public async Task TeiSimilarityTokenizeAndInfo()
    {
        using var scores = await Post("/similarity", new { inputs = new { source_sentence = Texts[0], sentences = Texts[1..] } });
        var source = _embedder.Encode(Texts[0]);
        for (var i = 1; i < Texts.Length; i++)
        {
            Assert.That(scores.RootElement[i - 1].GetSingle(), Is.EqualTo(System.Numerics.Tensors.TensorPrimitives.Dot(source, _embedder.Encode(Texts[i]))));
        }

        using var tokens = await Post("/tokenize", new { inputs = "hello world" });
        var list = tokens.RootElement[0];
        Assert.That(list.EnumerateArray().Select(t => t.GetProperty("id").GetInt32()), Is.EqualTo(_embedder.Tokenizer.Encode("hello world").Ids));
        Assert.That(list[1].GetProperty("text").GetString(), Is.EqualTo("hello"));
        Assert.That(list[0].GetProperty("special").GetBoolean(), Is.True);

        var info = JsonDocument.Parse(await _http.GetStringAsync("/info")).RootElement;
        Assert.That(info.GetProperty("model_id").GetString(), Is.EqualTo("snowflake-arctic-embed-xs"));
        Assert.That(info.GetProperty("dimension").GetInt32(), Is.EqualTo(384));
        Assert.That(info.GetProperty("max_input_length").GetInt32(), Is.EqualTo(512));
        Assert.That(info.GetProperty("model_type").GetProperty("embedding").GetProperty("pooling").GetString(), Is.EqualTo("cls"));
    }

    [Test]
    public async Task ConcurrentRequestsShareForwardPassesAndGetTheirOwnRows()
    {
        var sentences = StsSentences(64);
        var before = Metric(await _http.GetStringAsync("/metrics"), "te_batch_next_size_count");
        var answers = await Task.WhenAll(sentences.Select(async s =>
        {
            using var reply = await Post("/embed", new { inputs = s });
            return reply.RootElement[0].EnumerateArray().Select(v => v.GetSingle()).ToArray();
        }));
        var passes = Metric(await _http.GetStringAsync("/metrics"), "te_batch_next_size_count") - before;
        for (var i = 0; i < sentences.Length; i++)
        {
            Assert.That(answers[i], Is.EqualTo(_embedder.Encode(sentences[i])), sentences[i]);
        }

        Assert.That(passes, Is.LessThan(sentences.Length), "64 concurrent one-text requests should share forward passes");
    }

    [Test]
    public async Task TimingHeadersAsTeiSendsThem()
    {
        using var response = await _http.PostAsync("/embed", Json(new { inputs = Texts[0] }));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        foreach (var header in new[] { "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time", "x-compute-tokens" })
        {
            Assert.That(response.Headers.TryGetValues(header, out var values) && long.Parse(values.Single()) >= 0, header);
        }

        Assert.That(response.Headers.GetValues("x-compute-tokens").Single(), Is.EqualTo(_embedder.Tokenizer.Encode(Texts[0]).Length.ToString()));
    }

    [Test]
    public async Task LongInputIsRefusedNamingItsTokenCountUnlessTruncationIsAsked()
    {
        var text = string.Join(' ', Enumerable.Repeat("embedding", 700));
        var tokens = _embedder.Tokenizer.Encode(text, int.MaxValue).Length;
        var (status, error) = await Error("/v1/embeddings", new { input = text }, openAi: true);
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain($"{tokens} tokens").And.Contain("512"));
        (status, error) = await Error("/embed", new { inputs = new[] { "short", text } }, openAi: false);
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain("inputs[1]").And.Contain($"{tokens} tokens"));

        using var truncated = await Post("/v1/embeddings", new { input = text, truncate = true });
        Assert.That(Vector(truncated, 0), Is.EqualTo(_embedder.Encode(text)));
        using var left = await Post("/embed", new { inputs = text + " and a different ending", truncate = true, truncation_direction = "Left" });
        Assert.That(left.RootElement[0].EnumerateArray().Select(v => v.GetSingle()), Is.Not.EqualTo(_embedder.Encode(text)));
    }

    [TestCase("/v1/embeddings", "{\"input\": [\"a\",", 400, "not valid JSON")]
    [TestCase("/v1/embeddings", "[1, 2]", 400, "JSON object")]
    [TestCase("/v1/embeddings", "{\"model\": \"x\"}", 400, "'input' is required")]
    [TestCase("/v1/embeddings", "{\"input\": 5}", 400, "'input' must be")]
    [TestCase("/v1/embeddings", "{\"input\": [\"a\", 5]}", 400, "'input[1]'")]
    [TestCase("/v1/embeddings", "{\"input\": [1, 2.5]}", 400, "integer token id")]
    [TestCase("/v1/embeddings", "{\"input\": []}", 422, "empty")]
    [TestCase("/v1/embeddings", "{\"input\": \"\"}", 422, "empty string")]
    [TestCase("/v1/embeddings", "{\"input\": [101, 999999, 102]}", 422, "999999")]
    [TestCase("/v1/embeddings", "{\"input\": \"a\", \"encoding_format\": \"int8\"}", 422, "encoding_format")]
    [TestCase("/v1/embeddings", "{\"input\": \"a\", \"dimensions\": 4096}", 422, "dimensions")]
    [TestCase("/v1/embeddings", "{\"input\": \"a\", \"dimensions\": \"big\"}", 400, "dimensions")]
    [TestCase("/v1/embeddings", "{\"input\": \"a\", \"input_type\": \"poem\"}", 422, "input_type")]
    [TestCase("/embed", "{\"inputs\": \"a\", \"normalize\": \"yes\"}", 400, "'normalize' must be true or false")]
    [TestCase("/embed", "{\"inputs\": \"a\", \"truncation_direction\": \"Middle\"}", 422, "truncation_direction")]
    [TestCase("/embed", "{\"inputs\": \"a\", \"prompt_name\": \"poem\"}", 422, "prompt_name")]
    [TestCase("/similarity", "{\"inputs\": \"a\"}", 400, "source_sentence")]
    public Task BadRequestsGetJsonErrorsNamingTheField(string route, string body, int status, string message) => AssertRefused(_http, route, body, status, message);

    /// <summary>Posts a raw JSON body and expects a refusal with this status whose message (in the route's error shape: OpenAI's under /v1/ and /v2/) contains <paramref name="message"/>.</summary>
    internal static async Task AssertRefused(HttpClient http, string route, string body, int status, string message)
    {
        using var response = await http.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        var (code, error) = await ReadError(response, openAi: route.StartsWith("/v1/", StringComparison.Ordinal) || route.StartsWith("/v2/", StringComparison.Ordinal));
        Assert.That(code, Is.EqualTo(status), error);
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public async Task WrongContentTypeAndTooManyInputs()
    {
        using var text = await _http.PostAsync("/v1/embeddings", new StringContent("{\"input\": \"a\"}", Encoding.UTF8, "text/plain"));
        var (status, error) = await ReadError(text, openAi: true);
        Assert.That(status, Is.EqualTo(400));
        Assert.That(error, Does.Contain("application/json"));

        (status, error) = await Error("/v1/embeddings", new { input = Enumerable.Repeat("a", 33).ToArray() }, openAi: true);
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain("33").And.Contain("32"));
    }

    [Test]
    public async Task OpenAiErrorsHaveOpenAisShape()
    {
        using var response = await _http.PostAsync("/v1/embeddings", new StringContent("{\"input\": 5}", Encoding.UTF8, "application/json"));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("input"));
        Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("invalid_request_error"));
        Assert.That(error.GetProperty("param").GetString(), Is.EqualTo("input"));
        Assert.That(error.TryGetProperty("code", out _));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
    }

    [Test]
    public async Task HealthReadyAndMetricsAnswer()
    {
        Assert.That((await _http.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await _http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Post("/embed", new { inputs = "x" });
        var metrics = await _http.GetStringAsync("/metrics");
        Assert.That(Metric(metrics, "te_request_count"), Is.GreaterThan(0));
        Assert.That(Metric(metrics, "te_request_success"), Is.GreaterThan(0));
        Assert.That(metrics, Does.Contain("te_request_inference_duration_bucket").And.Contain("te_queue_size"));
    }

    internal static string[] StsSentences(int count) =>
        File.ReadLines(Path.Combine(TestPaths.Shared, "data", "stsb", "sts-test.csv")).Select(l => l.Split('\t')).Where(c => c.Length > 5).Select(c => c[5]).Distinct().Take(count).ToArray();

    /// <summary>Polls the server's metrics until <paramref name="name"/> reaches <paramref name="least"/> (a series not yet written counts as 0); fails after 30 s rather than hang.</summary>
    internal static Task<string> AwaitMetric(HttpClient http, string name, double least) =>
        AwaitMetrics(http, metrics => Current(metrics, name) >= least, $"{name} did not reach {least}");

    /// <summary>Polls the server's metrics until <paramref name="done"/> holds for one scrape, and returns that scrape; fails after 30 s rather than hang.</summary>
    internal static async Task<string> AwaitMetrics(HttpClient http, Func<string, bool> done, string failure)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(2))
        {
            var metrics = await http.GetStringAsync("/metrics");
            if (done(metrics))
            {
                return metrics;
            }

            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), $"{failure} within 30 s");
        }
    }

    /// <summary>A series' value in one scrape, 0 while it is not yet written.</summary>
    internal static double Current(string metrics, string name) => metrics.Contains('\n' + name + ' ', StringComparison.Ordinal) ? Metric(metrics, name) : 0;

    internal static double Metric(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Single();

    private static float[] Vector(JsonDocument reply, int index) =>
        reply.RootElement.GetProperty("data")[index].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();

    internal static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private async Task<JsonDocument> Post(string route, object body)
    {
        using var response = await _http.PostAsync(route, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text);
    }

    private async Task<(int Status, string Message)> Error(string route, object body, bool openAi)
    {
        using var response = await _http.PostAsync(route, Json(body));
        return await ReadError(response, openAi);
    }

    internal static async Task<(int Status, string Message)> ReadError(HttpResponseMessage response, bool openAi)
    {
        var text = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(text).RootElement;
        var message = openAi ? root.GetProperty("error").GetProperty("message").GetString()! : root.GetProperty("error").GetString()!;
        return ((int)response.StatusCode, message);
    }
}

/// <summary>Starting a server for a test: any free loopback port, waiting until the models are warm.</summary>
internal static class ServerHarness
{
    public static Task<EmbeddingServer> Start(Func<Embedder> load, ServerOptions options) => Start(load, null, options);

    public static async Task<EmbeddingServer> Start(Func<Embedder>? embedder, Func<Reranker>? reranker, ServerOptions options)
    {
        var server = await EmbeddingServer.StartAsync(embedder, reranker, options with { Host = "127.0.0.1", Port = 0 });
        await server.Loaded;
        return server;
    }
}
