using System.ClientModel;
using System.Net;
using System.Text;
using Bge.Core;
using Bge.Server;
using OpenAI;
using OpenAI.Embeddings;

namespace Bge.Tests.Server;

/// <summary>The server at its limits: body size, API key, overload, loading and shutdown, each answered in JSON, never a crash.</summary>
[NonParallelizable]
public sealed class ServerLimitTests
{
    private static readonly Lazy<Embedder> Arctic = new(() => Embedder.Load(TestPaths.Arctic));

    private static string LongText(int words, int seed) => string.Join(' ', Enumerable.Range(0, words).Select(i => $"word{(i * 7919 + seed) % 1000}"));

    [Test]
    public async Task BodiesOverThePayloadLimitGet413AsJson()
    {
        await using var server = await ServerHarness.Start(() => Arctic.Value, new ServerOptions { PayloadLimit = 1000 });
        using var http = new HttpClient { BaseAddress = server.Address };
        var body = ServerTests.Json(new { input = new string('a', 2000) });
        var (status, error) = await ServerTests.ReadError(await http.PostAsync("/v1/embeddings", body), openAi: true);
        Assert.That(status, Is.EqualTo(413));
        Assert.That(error, Does.Contain("1000"));

        // Without a Content-Length (chunked), the limit holds while reading.
        var chunked = new StringContent("{\"inputs\": \"" + new string('a', 5000) + "\"}", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/embed") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        (status, error) = await ServerTests.ReadError(await http.SendAsync(request), openAi: false);
        Assert.That(status, Is.EqualTo(413));
        Assert.That(error, Does.Contain("1000"));

        Assert.That((await http.PostAsync("/embed", ServerTests.Json(new { inputs = "small" }))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task AnApiKeyGuardsEveryRouteButHealthReadyAndMetrics()
    {
        await using var server = await ServerHarness.Start(() => Arctic.Value, new ServerOptions { ApiKey = "s3cret" });
        EmbeddingClient Client(string key) => new("m", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "v1") });
        var refused = Assert.ThrowsAsync<ClientResultException>(() => Client("wrong").GenerateEmbeddingAsync("hello"));
        Assert.That(refused!.Status, Is.EqualTo(401));
        var accepted = await Client("s3cret").GenerateEmbeddingAsync("hello");
        Assert.That(accepted.Value.ToFloats().ToArray(), Is.EqualTo(Arctic.Value.Encode("hello")));

        using var http = new HttpClient { BaseAddress = server.Address };
        var (status, error) = await ServerTests.ReadError(await http.PostAsync("/embed", ServerTests.Json(new { inputs = "x" })), openAi: false);
        Assert.That(status, Is.EqualTo(401));
        Assert.That(error, Does.Contain("API key"));
        Assert.That((await http.GetAsync("/info")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        foreach (var open in new[] { "/health", "/ready", "/metrics" })
        {
            Assert.That((await http.GetAsync(open)).StatusCode, Is.EqualTo(HttpStatusCode.OK), open);
        }
    }

    [Test]
    public async Task AFloodPastTheLimitGets429AtOnceAndEveryOtherRequestItsAnswer()
    {
        await using var server = await ServerHarness.Start(() => Arctic.Value, new ServerOptions { MaxConcurrentRequests = 2 });
        using var http = new HttpClient { BaseAddress = server.Address };
        var texts = Enumerable.Range(0, 40).Select(i => LongText(120, i)).ToArray();
        var replies = await Task.WhenAll(texts.Select(async text =>
        {
            using var response = await http.PostAsync("/embed", ServerTests.Json(new { inputs = text }));
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }));
        Assert.That(replies.Select(r => r.StatusCode).Distinct(), Is.SubsetOf(new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.That(replies.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), Is.GreaterThan(0));
        Assert.That(replies.Count(r => r.StatusCode == HttpStatusCode.OK), Is.GreaterThan(0));
        foreach (var refused in replies.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
        {
            Assert.That(refused.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(refused.Body, Does.Contain("--max-concurrent-requests"));
        }

        for (var i = 0; i < texts.Length; i++)
        {
            if (replies[i].StatusCode == HttpStatusCode.OK)
            {
                var vector = System.Text.Json.JsonDocument.Parse(replies[i].Body).RootElement[0].EnumerateArray().Select(v => v.GetSingle());
                Assert.That(vector, Is.EqualTo(Arctic.Value.Encode(texts[i])));
            }
        }
    }

    [Test]
    public async Task TheListenerIsUpWhileTheModelLoadsAndReadinessFollowsIt()
    {
        var release = new TaskCompletionSource();
        var server = await EmbeddingServer.StartAsync(() => { release.Task.Wait(); return Arctic.Value; }, new ServerOptions { Port = 0 });
        await using (server)
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            Assert.That((await http.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            using var early = await http.PostAsync("/v1/embeddings", ServerTests.Json(new { input = "x" }));
            var (status, error) = await ServerTests.ReadError(early, openAi: true);
            Assert.That(status, Is.EqualTo(503));
            Assert.That(error, Does.Contain("loading"));
            Assert.That(early.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));

            release.SetResult();
            await server.Loaded;
            Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task AModelThatFailsToLoadLeavesTheServerUpAndSaysWhy()
    {
        var server = await EmbeddingServer.StartAsync(() => Embedder.Load(Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid())), new ServerOptions { Port = 0 });
        await using (server)
        {
            Assert.CatchAsync(() => server.Loaded);
            using var http = new HttpClient { BaseAddress = server.Address };
            Assert.That((await http.GetAsync("/ready")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            var (status, error) = await ServerTests.ReadError(await http.PostAsync("/embed", ServerTests.Json(new { inputs = "x" })), openAi: false);
            Assert.That(status, Is.EqualTo(503));
            Assert.That(error, Does.Contain("failed to load"));
        }
    }

    [Test]
    public async Task StoppingLetsRequestsInFlightFinishThenRefuses()
    {
        var server = await ServerHarness.Start(() => Arctic.Value, new ServerOptions());
        using var http = new HttpClient { BaseAddress = server.Address };
        var batches = Enumerable.Range(0, 4).Select(r => Enumerable.Range(0, 8).Select(i => LongText(100, (r * 8) + i)).ToArray()).ToArray();
        var requests = batches.Select(async texts =>
        {
            using var response = await http.PostAsync("/embed", ServerTests.Json(new { inputs = texts }));
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }).ToArray();
        // Stop once every request has been received.
        await ServerTests.AwaitMetric(http, "te_request_count", batches.Length);

        var stopping = server.StopAsync();
        Assert.That(server.IsReady, Is.False);
        var replies = await Task.WhenAll(requests);
        await stopping;
        for (var r = 0; r < batches.Length; r++)
        {
            Assert.That(replies[r].StatusCode, Is.EqualTo(HttpStatusCode.OK), replies[r].Body);
            var rows = System.Text.Json.JsonDocument.Parse(replies[r].Body).RootElement;
            Assert.That(rows[7].EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(Arctic.Value.Encode(batches[r][7])));
        }

        Assert.CatchAsync<HttpRequestException>(() => new HttpClient().GetAsync(new Uri(server.Address, "/health")));
        await server.DisposeAsync();
    }

    [Test]
    public async Task ARequestWhoseClientHasGoneIsDroppedBeforeItsForwardPass()
    {
        // A small token budget spreads the busy requests over many passes (two long texts each), so that seconds of
        // work still wait ahead of the impatient request when its client gives up.
        await using var server = await ServerHarness.Start(() => Arctic.Value, new ServerOptions { MaxBatchTokens = 1024 });
        using var http = new HttpClient { BaseAddress = server.Address };
        var busy = Enumerable.Range(0, 2).Select(r => http.PostAsync("/embed", ServerTests.Json(new { inputs = Enumerable.Range(0, 24).Select(i => LongText(120, (r * 24) + i)).ToArray() }))).ToArray();
        // Every busy input is queued or computed.
        await AwaitAdmitted(http, 2 * 24);

        // The impatient client speaks HTTP/1.1 over its own socket and closes it while its request waits in the queue:
        // a closed connection is what a client that has gone looks like (HttpClient's cancellation does not always
        // close its connection at once).
        using (var impatient = new System.Net.Sockets.TcpClient())
        {
            await impatient.ConnectAsync(server.Address.Host, server.Address.Port);
            var body = "{\"inputs\":[\"never computed\",\"nor this\"]}";
            var request = $"POST /embed HTTP/1.1\r\nHost: {server.Address.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}";
            await impatient.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
            var metrics = await AwaitAdmitted(http, (2 * 24) + 2);
            Assert.That(ServerTests.Metric(metrics, "te_queue_size"), Is.GreaterThan(2), "busy inputs still wait ahead of the impatient request");
        }

        foreach (var response in await Task.WhenAll(busy))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            response.Dispose();
        }

        using (var after = await http.PostAsync("/embed", ServerTests.Json(new { inputs = "after" })))
        {
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // The abandoned request's handler records its failure on its own thread, once the scheduler has dropped it.
        await ServerTests.AwaitMetric(http, "te_request_failure{err=\"cancelled\"}", 1);
        var final = await http.GetStringAsync("/metrics");
        Assert.That(ServerTests.Metric(final, "te_batch_next_size_sum"), Is.EqualTo((2 * 24) + 1), "only the busy requests' inputs and the last one's were computed");
        Assert.That(final, Does.Contain("te_request_failure{err=\"cancelled\"} 1"));
    }

    // Waits until at least this many inputs are queued or computed; returns the metrics that showed it.
    private static Task<string> AwaitAdmitted(HttpClient http, int inputs) =>
        ServerTests.AwaitMetrics(http, metrics => ServerTests.Current(metrics, "te_batch_next_size_sum") + ServerTests.Metric(metrics, "te_queue_size") >= inputs, $"{inputs} inputs were not admitted");
}
