using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Bge.Core;
using Bge.Server;
using Bge.Tests.Core;

namespace Bge.Tests.Server;

/// <summary>A fixture's server: the tiny bge-m3-shaped XLM-R model (with its sparse and ColBERT heads) on a loopback port, and a client for it.</summary>
public abstract class TinyM3Server
{
    /// <summary>The model's directory.</summary>
    protected static string Model { get; } = Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny");

    private EmbeddingServer Server { get; set; } = null!;

    protected HttpClient Http { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        Server = await Start(Model, new ServerOptions { Port = 0 });
        Http = new HttpClient { BaseAddress = Server.Address };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>The body of a 200 answer to <paramref name="body"/> posted as JSON to <paramref name="route"/>.</summary>
    protected async Task<string> Post(string route, object body)
    {
        using var response = await Http.PostAsJsonAsync(route, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return text;
    }

    /// <summary>
    /// Each text posted alone to <paramref name="route"/>, then, three rounds over, all at once with four requests of
    /// the first text to each other embedding route beside them: every answer bit for bit what it was alone, whoever
    /// shared its pass.
    /// </summary>
    protected async Task AssertConcurrentRequestsGetWhatEachGetsAlone(string route, IReadOnlyList<string> texts)
    {
        var alone = new List<string>();
        foreach (var text in texts)
        {
            alone.Add(await Post(route, new { inputs = new[] { text } }));
        }

        var others = new[] { "/embed", "/embed_sparse", "/embed_colbert" }.Where(r => r != route).ToList();
        var othersAlone = new List<string>();
        foreach (var other in others)
        {
            othersAlone.Add(await Post(other, new { inputs = texts[0] }));
        }

        for (var round = 0; round < 3; round++)
        {
            var answers = texts.Select(text => Post(route, new { inputs = new[] { text } })).ToList();
            var beside = others.Select(other => Enumerable.Range(0, 4).Select(_ => Post(other, new { inputs = texts[0] })).ToList()).ToList();
            Assert.That(await Task.WhenAll(answers), Is.EqualTo(alone), $"each {route} request's answer, bit for bit");
            for (var k = 0; k < others.Count; k++)
            {
                Assert.That(await Task.WhenAll(beside[k]), Is.All.EqualTo(othersAlone[k]), $"{others[k]} requests sharing passes with {route} ones");
            }
        }
    }

    /// <summary>
    /// The reference's longest text, which runs past the model's 8,192 tokens, after checking that
    /// <paramref name="route"/> refuses it with 422 naming its tokens when truncation is off.
    /// </summary>
    protected async Task<string> LongestRefusedUntruncated(string route)
    {
        var longest = M3OutputsGoldenTests.Read().Texts.MaxBy(t => t.Value.Length)!.Value;
        using var refused = await Http.PostAsJsonAsync(route, new { inputs = longest, truncate = false });
        var (status, message) = await ServerTests.ReadError(refused, openAi: false);
        Assert.That(status, Is.EqualTo(422), message);
        Assert.That(message, Does.Contain("tokens").And.Contain("truncate"));
        return longest;
    }

    /// <summary>A server of its own for the model in <paramref name="directory"/>, started with <paramref name="options"/>.</summary>
    protected static Task<EmbeddingServer> Start(string directory, ServerOptions options) =>
        ServerHarness.Start(() => Embedder.Load(directory, new EmbedderOptions { Warning = _ => { } }), options);

    /// <summary>
    /// Asks <paramref name="route"/> of a server of the same model with the head file <paramref name="file"/> left out
    /// of its directory, expecting TEI's 424 (error_type "backend") naming the file and the model's kind, then runs
    /// <paramref name="more"/> against that server.
    /// </summary>
    protected static async Task WithoutHead(string file, string route, string kind, Func<HttpClient, Task> more)
    {
        var directory = Directory.CreateTempSubdirectory("bge-no-head-").FullName;
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(Model).Where(e => Path.GetFileName(e) != file))
            {
                File.CreateSymbolicLink(Path.Combine(directory, Path.GetFileName(entry)), entry);
            }

            await using var server = await Start(directory, new ServerOptions { Port = 0 });
            using var http = new HttpClient { BaseAddress = server.Address };
            using var response = await http.PostAsJsonAsync(route, new { inputs = "Hello world" });
            var body = await response.Content.ReadAsStringAsync();
            Assert.That((int)response.StatusCode, Is.EqualTo(424), body);
            using var document = JsonDocument.Parse(body);
            Assert.That(document.RootElement.GetProperty("error").GetString(), Does.Contain(file).And.Contain($"not a {kind} model"));
            Assert.That(document.RootElement.GetProperty("error_type").GetString(), Is.EqualTo("backend"), "TEI's error_type for its 424");
            await more(http);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
