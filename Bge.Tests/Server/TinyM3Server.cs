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
        Server = await ServerHarness.Start(() => Embedder.Load(Model, new EmbedderOptions { Warning = _ => { } }), new ServerOptions { Port = 0 });
        Http = new HttpClient { BaseAddress = Server.Address };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
