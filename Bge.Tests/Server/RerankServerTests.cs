using System.Net;
using System.Text.Json;
using Bge.Core;
using Bge.Server;
using Bge.Tests.Core;

namespace Bge.Tests.Server;

/// <summary>
/// The server with a cross-encoder (the tiny BERT and XLM-R rerankers of ../shared/golden/models) on a loopback
/// port, spoken to over HTTP: TEI's /rerank and Cohere's / Jina's /v1/rerank give the float64 reference's logits and
/// scores, most relevant first, under the same limits, key and batching as the embedding routes.
/// </summary>
[NonParallelizable]
public sealed class RerankServerTests
{
    private static readonly string[] Models = RerankerGoldenTests.Models;

    private static readonly Lazy<Embedder> TinyEmbedder = new(() => Embedder.Load(Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny"), new EmbedderOptions { Warning = _ => { } }));

    // The reference pairs that share the first query: one ranking request (an empty passage, a pair past 512 tokens
    // that the reference cut longest-first, and one passage twice, whose tie keeps input order).
    private static List<RerankerGoldenTests.Pair> Shared(string model)
    {
        var pairs = RerankerGoldenTests.ReadPairs(model);
        return [.. pairs.Where(p => p.Query == pairs[0].Query)];
    }

    // The reference's ranking: most relevant first, ties in input order.
    private static int[] ExpectedOrder(IReadOnlyList<RerankerGoldenTests.Pair> pairs) =>
        [.. Enumerable.Range(0, pairs.Count).OrderByDescending(i => pairs[i].Logit).ThenBy(i => i)];

    private static Task<EmbeddingServer> StartReranker(string model, ServerOptions? options = null, bool withEmbedder = false) =>
        ServerHarness.Start(withEmbedder ? () => TinyEmbedder.Value : null, () => RerankerGoldenTests.Load(model), options ?? new ServerOptions());

    private static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    private static async Task<(int Status, string Message)> Refused(HttpClient http, string route, object body)
    {
        using var response = await http.PostAsync(route, ServerTests.Json(body));
        return await ServerTests.ReadError(response, openAi: route.StartsWith("/v1/", StringComparison.Ordinal));
    }

    [TestCaseSource(nameof(Models))]
    public async Task TeiRerankGivesTheReferenceScoresMostRelevantFirst(string model)
    {
        var shared = Shared(model);
        Assert.That(shared, Has.Count.GreaterThanOrEqualTo(8));
        await using var server = await StartReranker(model);
        using var http = new HttpClient { BaseAddress = server.Address };
        var texts = shared.Select(p => p.Passage).ToArray();

        using var response = await http.PostAsync("/rerank", ServerTests.Json(new { query = shared[0].Query, texts, truncate = true }));
        Assert.That(response.Headers.GetValues("x-compute-tokens").Single(), Is.EqualTo(shared.Sum(p => p.Ids.Length).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var ranks = await Ok(response);
        Assert.That(ranks.EnumerateArray().Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(ExpectedOrder(shared)));
        foreach (var rank in ranks.EnumerateArray())
        {
            var i = rank.GetProperty("index").GetInt32();
            Assert.That(rank.GetProperty("score").GetSingle(), Is.EqualTo(shared[i].Score).Within(1e-4), $"text {i}");
            Assert.That(rank.TryGetProperty("text", out _), Is.False, "no text unless return_text");
        }

        var raw = await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = shared[0].Query, texts, truncate = true, raw_scores = true, return_text = true, truncation_direction = "Right" })));
        Assert.That(raw.EnumerateArray().Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(ExpectedOrder(shared)));
        foreach (var rank in raw.EnumerateArray())
        {
            var i = rank.GetProperty("index").GetInt32();
            Assert.That(rank.GetProperty("score").GetSingle(), Is.EqualTo(shared[i].Logit).Within(1e-4), $"text {i}");
            Assert.That(rank.GetProperty("text").GetString(), Is.EqualTo(texts[i]));
        }
    }

    [TestCaseSource(nameof(Models))]
    public async Task V1RerankGivesRelevanceScoresTopNAndDocuments(string model)
    {
        var shared = Shared(model);
        await using var server = await StartReranker(model);
        using var http = new HttpClient { BaseAddress = server.Address };
        // Cohere's and Jina's documents: strings or {"text": …} objects, mixed.
        var documents = shared.Select((p, i) => i % 2 == 0 ? (object)p.Passage : new { text = p.Passage }).ToArray();
        var expected = ExpectedOrder(shared);

        var all = await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { model = "anything", query = shared[0].Query, documents, truncate = true })));
        Assert.That(all.GetProperty("model").GetString(), Is.EqualTo(model));
        Assert.That(all.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(shared.Sum(p => p.Ids.Length)));
        var results = all.GetProperty("results").EnumerateArray().ToList();
        Assert.That(results.Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(expected));
        foreach (var result in results)
        {
            var i = result.GetProperty("index").GetInt32();
            Assert.That(result.GetProperty("relevance_score").GetSingle(), Is.EqualTo(shared[i].Score).Within(1e-4), $"document {i}");
            Assert.That(result.TryGetProperty("document", out _), Is.False, "no document unless return_documents");
        }

        var top = await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { query = shared[0].Query, documents, truncate = true, top_n = 3, return_documents = true })));
        var best = top.GetProperty("results").EnumerateArray().ToList();
        Assert.That(best.Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(expected.Take(3)));
        Assert.That(best.Select(r => r.GetProperty("document").GetProperty("text").GetString()), Is.EqualTo(expected.Take(3).Select(i => shared[i].Passage)));
        Assert.That(top.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(shared.Sum(p => p.Ids.Length)), "every document was scored");

        var more = await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { query = shared[0].Query, documents, truncate = true, top_n = 100 })));
        Assert.That(more.GetProperty("results").GetArrayLength(), Is.EqualTo(shared.Count));
    }

    [Test]
    public async Task EmptyQueriesAndPassagesAreScoredAsHuggingFaceScoresThem()
    {
        var pairs = RerankerGoldenTests.ReadPairs("bert-reranker-tiny");
        var emptyQuery = pairs.Single(p => p.Query.Length == 0);
        var emptyPassage = pairs.Single(p => p.Passage.Length == 0 && p.Query != pairs[0].Query);
        await using var server = await StartReranker("bert-reranker-tiny");
        using var http = new HttpClient { BaseAddress = server.Address };
        var first = await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = "", texts = new[] { emptyQuery.Passage }, raw_scores = true })));
        Assert.That(first[0].GetProperty("score").GetSingle(), Is.EqualTo(emptyQuery.Logit).Within(1e-4));
        var second = await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { query = emptyPassage.Query, documents = new[] { "" } })));
        Assert.That(second.GetProperty("results")[0].GetProperty("relevance_score").GetSingle(), Is.EqualTo(emptyPassage.Score).Within(1e-4));
    }

    [Test]
    public async Task ATooLongPairIsRefusedNamingItsIndexUnlessTruncationIsAsked()
    {
        var reranker = RerankerGoldenTests.Load("xlmr-reranker-tiny");
        var shared = Shared("xlmr-reranker-tiny");
        var query = shared[0].Query;
        var longest = shared.Single(p => p.Ids.Length == 512);
        var tokens = reranker.Tokenizer.EncodePair(query, longest.Passage, int.MaxValue).Length;
        Assert.That(tokens, Is.GreaterThan(512), "the reference cut this pair");
        var texts = new[] { "short", longest.Passage };
        await using (var server = await StartReranker("xlmr-reranker-tiny"))
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            var (status, error) = await Refused(http, "/rerank", new { query, texts });
            Assert.That(status, Is.EqualTo(422));
            Assert.That(error, Does.Contain("'texts[1]'").And.Contain($"{tokens} tokens").And.Contain("512").And.Contain("truncate"));
            (status, error) = await Refused(http, "/v1/rerank", new { query, documents = texts });
            Assert.That(status, Is.EqualTo(422));
            Assert.That(error, Does.Contain("'documents[1]'").And.Contain($"{tokens} tokens"));

            var cut = await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query, texts, truncate = true, raw_scores = true })));
            Assert.That(cut.EnumerateArray().Single(r => r.GetProperty("index").GetInt32() == 1).GetProperty("score").GetSingle(), Is.EqualTo(longest.Logit).Within(1e-4));

            (status, error) = await Refused(http, "/rerank", new { query, texts, truncate = true, truncation_direction = "Left" });
            Assert.That(status, Is.EqualTo(422));
            Assert.That(error, Does.Contain("truncation_direction"));
        }

        await using (var server = await StartReranker("xlmr-reranker-tiny", new ServerOptions { AutoTruncate = true }))
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            var cut = await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { query, documents = texts })));
            Assert.That(cut.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("index").GetInt32() == 1).GetProperty("relevance_score").GetSingle(), Is.EqualTo(longest.Score).Within(1e-4));
            var (status, _) = await Refused(http, "/rerank", new { query, texts, truncate = false });
            Assert.That(status, Is.EqualTo(422), "a request may still refuse truncation");
        }
    }

    [TestCase("/rerank", "{\"texts\": [\"a\"]}", 400, "'query' is required")]
    [TestCase("/rerank", "{\"query\": 5, \"texts\": [\"a\"]}", 400, "'query' must be a string")]
    [TestCase("/rerank", "{\"query\": \"q\"}", 400, "'texts' is required")]
    [TestCase("/rerank", "{\"query\": \"q\", \"texts\": \"a\"}", 400, "'texts' must be an array of strings")]
    [TestCase("/rerank", "{\"query\": \"q\", \"texts\": [\"a\", {\"text\": \"b\"}]}", 400, "'texts[1]' must be a string")]
    [TestCase("/rerank", "{\"query\": \"q\", \"texts\": []}", 422, "'texts' is empty")]
    [TestCase("/rerank", "{\"query\": \"q\", \"texts\": [\"a\"], \"raw_scores\": 1}", 400, "'raw_scores' must be true or false")]
    [TestCase("/rerank", "{\"query\": \"q\", \"texts\": [\"a\"], \"truncation_direction\": \"Middle\"}", 422, "truncation_direction")]
    [TestCase("/v1/rerank", "{\"query\": \"q\", \"documents\": []}", 422, "'documents' is empty")]
    [TestCase("/v1/rerank", "{\"query\": \"q\", \"documents\": [\"a\", 7]}", 400, "'documents[1]' must be a string or a {\"text\": …} object")]
    [TestCase("/v1/rerank", "{\"query\": \"q\", \"documents\": [{\"title\": \"a\"}]}", 400, "'documents[0].text' is required")]
    [TestCase("/v1/rerank", "{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": 0}", 422, "'top_n' is 0")]
    [TestCase("/v1/rerank", "{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": \"3\"}", 400, "'top_n' must be an integer")]
    public async Task BadRequestsGetJsonErrorsNamingTheField(string route, string body, int status, string message)
    {
        await using var server = await StartReranker("bert-reranker-tiny");
        using var http = new HttpClient { BaseAddress = server.Address };
        await ServerTests.AssertRefused(http, route, body, status, message);
    }

    [Test]
    public async Task LimitsHoldForRerankingAsForEmbeddings()
    {
        await using var server = await StartReranker("bert-reranker-tiny", new ServerOptions { MaxClientBatchSize = 4, MaxConcurrentRequests = 3, PayloadLimit = 2000 });
        using var http = new HttpClient { BaseAddress = server.Address };
        var (status, error) = await Refused(http, "/rerank", new { query = "q", texts = new[] { "a", "b", "c", "d", "e" } });
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain("5").And.Contain("4").And.Contain("--max-client-batch-size"));
        (status, error) = await Refused(http, "/v1/rerank", new { query = "q", documents = new[] { "a", "b", "c", "d", "e" } });
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain("--max-client-batch-size"));

        // Four texts in one request are more than three in flight: 429 at once, with Retry-After.
        using (var overloaded = await http.PostAsync("/rerank", ServerTests.Json(new { query = "q", texts = new[] { "a", "b", "c", "d" } })))
        {
            Assert.That(overloaded.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(overloaded.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(await overloaded.Content.ReadAsStringAsync(), Does.Contain("--max-concurrent-requests"));
        }

        (status, error) = await Refused(http, "/v1/rerank", new { query = "q", documents = new[] { new string('a', 3000) } });
        Assert.That(status, Is.EqualTo(413));
        Assert.That(error, Does.Contain("2000"));

        await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = "q", texts = new[] { "a", "b", "c" } })));
        var metrics = await http.GetStringAsync("/metrics");
        Assert.That(ServerTests.Metric(metrics, "te_request_count"), Is.EqualTo(5));
        Assert.That(ServerTests.Metric(metrics, "te_request_success"), Is.EqualTo(1));
        Assert.That(metrics, Does.Contain("te_request_failure{err=\"validation_error\"} 2").And.Contain("te_request_failure{err=\"overloaded\"} 1"));
    }

    [Test]
    public async Task AnApiKeyGuardsTheRerankRoutes()
    {
        await using var server = await StartReranker("bert-reranker-tiny", new ServerOptions { ApiKey = "s3cret" });
        using var http = new HttpClient { BaseAddress = server.Address };
        var (status, error) = await Refused(http, "/rerank", new { query = "q", texts = new[] { "a" } });
        Assert.That(status, Is.EqualTo(401));
        Assert.That(error, Does.Contain("API key"));
        (status, _) = await Refused(http, "/v1/rerank", new { query = "q", documents = new[] { "a" } });
        Assert.That(status, Is.EqualTo(401));

        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret");
        await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = "q", texts = new[] { "a" } })));
        await Ok(await http.PostAsync("/v1/rerank", ServerTests.Json(new { query = "q", documents = new[] { "a" } })));
    }

    /// <summary>Many requests at once share forward passes; each gets the logits it gets alone, bit for bit.</summary>
    [Test]
    public async Task ConcurrentRequestsGetTheLogitsEachGetsAlone()
    {
        var pairs = RerankerGoldenTests.ReadPairs("xlmr-reranker-tiny");
        var reranker = RerankerGoldenTests.Load("xlmr-reranker-tiny");
        await using var server = await StartReranker("xlmr-reranker-tiny");
        using var http = new HttpClient { BaseAddress = server.Address };
        var requests = Enumerable.Range(0, 24).Select(r => (Query: pairs[r % pairs.Count].Query, Texts: Enumerable.Range(0, 6).Select(i => pairs[(r + (i * 5)) % pairs.Count].Passage).ToArray())).ToList();
        async Task<float[]> Logits((string Query, string[] Texts) request)
        {
            var ranks = await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = request.Query, texts = request.Texts, truncate = true, raw_scores = true })));
            var logits = new float[request.Texts.Length];
            foreach (var rank in ranks.EnumerateArray())
            {
                logits[rank.GetProperty("index").GetInt32()] = rank.GetProperty("score").GetSingle();
            }

            return logits;
        }

        var alone = new List<float[]>();
        foreach (var request in requests)
        {
            alone.Add(await Logits(request));
        }

        var before = ServerTests.Metric(await http.GetStringAsync("/metrics"), "te_batch_next_size_count");
        var together = await Task.WhenAll(requests.Select(Logits));
        var passes = ServerTests.Metric(await http.GetStringAsync("/metrics"), "te_batch_next_size_count") - before;
        for (var r = 0; r < requests.Count; r++)
        {
            Assert.That(together[r], Is.EqualTo(alone[r]), $"request {r}");
            Assert.That(together[r], Is.EqualTo(reranker.Score(requests[r].Query, requests[r].Texts)), $"request {r} against Reranker.Score");
        }

        Assert.That(passes, Is.GreaterThan(0).And.LessThan(requests.Count), "24 concurrent requests should share forward passes");
    }

    /// <summary>The scheduler packs what waits from several requests into one pass, tells the pass what each sequence's request asked, and routes each row back (a compute function that waits for the test).</summary>
    [Test]
    public async Task TheSchedulerPacksRequestsThatWaitedIntoOnePass()
    {
        using var gate = new SemaphoreSlim(0);
        var passes = new List<int>();
        var asked = new List<EncoderOutputs[]>();
        float[][] Compute(Bge.Tokenizer.TokenBatch batch, EncoderOutputs[] asks)
        {
            lock (passes)
            {
                passes.Add(batch.Count);
                asked.Add(asks);
            }

            gate.Wait();
            return [.. Enumerable.Range(0, batch.Count).Select(b => new float[] { batch.LengthOf(b) })];
        }

        var scheduler = new BatchScheduler<float[]>(Compute, 1000, new ServerMetrics(), "test");
        await using (scheduler)
        {
            static Bge.Tokenizer.Encoding Of(int length) => new(new int[length], new int[length], new (int, int)[length], new bool[length], false);
            var first = scheduler.Submit([Of(3)], EncoderOutputs.None, CancellationToken.None);
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); passes.Count == 0; await Task.Delay(1))
            {
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
            }

            var waiting = Enumerable.Range(1, 4).Select(n => scheduler.Submit([Of(10 * n), Of((10 * n) + 1)], n % 2 == 0 ? EncoderOutputs.ColBert : EncoderOutputs.None, CancellationToken.None)).ToList();
            Assert.That(scheduler.Queued, Is.EqualTo(8));
            gate.Release(2);
            Assert.That((await first).Rows.Select(r => r[0]), Is.EqualTo(new[] { 3f }));
            for (var n = 1; n <= 4; n++)
            {
                Assert.That((await waiting[n - 1]).Rows.Select(r => r[0]), Is.EqualTo(new float[] { 10 * n, (10 * n) + 1 }));
            }

            Assert.That(passes, Is.EqualTo(new[] { 1, 8 }), "the four waiting requests shared one pass");
            var (none, colbert) = (EncoderOutputs.None, EncoderOutputs.ColBert);
            Assert.That(asked[1], Is.EqualTo(new[] { none, none, colbert, colbert, none, none, colbert, colbert }), "each sequence with its request's ask");
        }
    }

    [Test]
    public async Task EmbeddingsAndRerankingServedTogether()
    {
        await using var server = await StartReranker("xlmr-reranker-tiny", withEmbedder: true);
        using var http = new HttpClient { BaseAddress = server.Address };
        Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var vectors = await Ok(await http.PostAsync("/embed", ServerTests.Json(new { inputs = new[] { "hello world", "BGE M3" } })));
        Assert.That(vectors[1].EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(TinyEmbedder.Value.Encode("BGE M3")));
        var shared = Shared("xlmr-reranker-tiny");
        var ranks = await Ok(await http.PostAsync("/rerank", ServerTests.Json(new { query = shared[0].Query, texts = shared.Select(p => p.Passage), truncate = true })));
        Assert.That(ranks.EnumerateArray().Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(ExpectedOrder(shared)));

        var info = JsonDocument.Parse(await http.GetStringAsync("/info")).RootElement;
        Assert.That(info.GetProperty("model_id").GetString(), Is.EqualTo("xlmr-m3-tiny"), "the top level describes the embedding model");
        Assert.That(info.GetProperty("max_input_length").GetInt32(), Is.EqualTo(8192));
        Assert.That(info.GetProperty("model_type").GetProperty("embedding").GetProperty("pooling").GetString(), Is.EqualTo("cls"));
        var reranker = info.GetProperty("model_type").GetProperty("reranker");
        Assert.That(reranker.GetProperty("model_id").GetString(), Is.EqualTo("xlmr-reranker-tiny"));
        Assert.That(reranker.GetProperty("max_input_length").GetInt32(), Is.EqualTo(512));
        Assert.That(reranker.GetProperty("id2label").GetProperty("0").GetString(), Is.EqualTo("LABEL_0"));
    }

    [Test]
    public async Task AServerWithOnlyOneModelSaysSoOnTheOthersRoutes()
    {
        await using (var rerankOnly = await StartReranker("bert-reranker-tiny"))
        {
            using var http = new HttpClient { BaseAddress = rerankOnly.Address };
            Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            foreach (var route in new[] { "/embed", "/v1/embeddings" })
            {
                var (status, error) = await Refused(http, route, route == "/embed" ? new { inputs = "x" } : (object)new { input = "x" });
                Assert.That(status, Is.EqualTo(404), route);
                Assert.That(error, Does.Contain("without an embedding model").And.Contain("--model"), route);
            }

            var info = JsonDocument.Parse(await http.GetStringAsync("/info")).RootElement;
            Assert.That(info.GetProperty("model_id").GetString(), Is.EqualTo("bert-reranker-tiny"));
            Assert.That(info.GetProperty("max_input_length").GetInt32(), Is.EqualTo(512));
            Assert.That(info.GetProperty("model_type").TryGetProperty("embedding", out _), Is.False);
            Assert.That(info.GetProperty("model_type").GetProperty("reranker").GetProperty("label2id").GetProperty("LABEL_0").GetInt32(), Is.Zero);
            Assert.That(info.TryGetProperty("dimension", out _), Is.False);
        }

        await using (var embedOnly = await ServerHarness.Start(() => TinyEmbedder.Value, new ServerOptions()))
        {
            using var http = new HttpClient { BaseAddress = embedOnly.Address };
            using var response = await http.PostAsync("/rerank", ServerTests.Json(new { query = "q", texts = new[] { "a" } }));
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.That((int)response.StatusCode, Is.EqualTo(404));
            Assert.That(body.GetProperty("error").GetString(), Does.Contain("without a reranker").And.Contain("--reranker"));
            Assert.That(body.GetProperty("error_type").GetString(), Is.EqualTo("not_found"));
            var (status, error) = await Refused(http, "/v1/rerank", new { query = "q", documents = new[] { "a" } });
            Assert.That(status, Is.EqualTo(404));
            Assert.That(error, Does.Contain("--reranker"));
        }
    }

    [Test]
    public async Task AnEmbeddingModelGivenAsTheRerankerFailsToLoadByName()
    {
        var embeddingModel = Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny");
        var server = await EmbeddingServer.StartAsync(null, () => Reranker.Load(embeddingModel), new ServerOptions { Port = 0 });
        await using (server)
        {
            var failure = Assert.CatchAsync(() => server.Loaded);
            Assert.That(failure, Is.InstanceOf<Bge.Weights.ModelFormatException>());
            Assert.That(failure!.Message, Does.Contain("embedding model").And.Contain("ForSequenceClassification"));
            using var http = new HttpClient { BaseAddress = server.Address };
            Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            var (status, error) = await Refused(http, "/rerank", new { query = "q", texts = new[] { "a" } });
            Assert.That(status, Is.EqualTo(503));
            Assert.That(error, Does.Contain("the reranker failed to load").And.Contain("embedding model"));
        }
    }

    [Test]
    public void AServerNeedsAtLeastOneModel() =>
        Assert.ThrowsAsync<ArgumentException>(() => EmbeddingServer.StartAsync(null, null, new ServerOptions { Port = 0 }));
}
