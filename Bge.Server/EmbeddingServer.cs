using System.Net;
using Bge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Bge.Server;

/// <summary>
/// <c>bge serve</c>: an HTTP server that embeds text with one <see cref="Embedder"/>, speaking OpenAI's embeddings
/// API (<c>POST /v1/embeddings</c>) and Hugging Face TEI's (<c>/embed</c>, <c>/similarity</c>, <c>/tokenize</c>,
/// <c>/info</c>), with <c>/health</c> (liveness), <c>/ready</c> (readiness) and <c>/metrics</c> (Prometheus).
/// The listener is up at once; the model loads and warms behind it, and <c>/ready</c> answers 503 until it has.
/// Concurrent requests share forward passes (<see cref="BatchScheduler"/>).
/// </summary>
public sealed class EmbeddingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerOptions _options;
    private readonly ServerMetrics _metrics = new();
    private Task _loading = Task.CompletedTask;
    private volatile EmbeddingPipeline? _pipeline;
    private volatile BatchScheduler? _scheduler;
    private volatile bool _stopping;
    private volatile string? _loadError;

    private EmbeddingServer(WebApplication app, ServerOptions options)
    {
        (_app, _options) = (app, options);
        app.Lifetime.ApplicationStopping.Register(() => _stopping = true);
        Routes.Map(app, this);
    }

    /// <summary>Where the server listens (with the port it was given when <see cref="ServerOptions.Port"/> was 0).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Whether the model is loaded and warmed and the server is not shutting down (what <c>/ready</c> answers).</summary>
    public bool IsReady => _pipeline is not null && !_stopping;

    /// <summary>Completes when the model is loaded and warmed; faults with the loader's exception if loading failed.</summary>
    public Task Loaded => _loading;

    internal ServerOptions Options => _options;

    internal ServerMetrics Metrics => _metrics;

    internal int Queued => _scheduler?.Queued ?? 0;

    /// <summary>Whether stopping has begun: requests that arrive from now on are refused, those already in flight finish.</summary>
    internal bool Stopping => _stopping;

    /// <summary>The pipeline, or 503 while the model loads (or failed to).</summary>
    internal EmbeddingPipeline Pipeline => _pipeline ?? throw new ApiException(503, _loadError is null ? "the model is still loading; see /ready" : "the model failed to load: " + _loadError) { RetryAfter = 1 };

    /// <summary>Starts listening at once and loads the model behind the listener with <paramref name="load"/>.</summary>
    /// <param name="load">Loads the embedder (called once, off the caller's thread).</param>
    /// <param name="options">Address, limits and key.</param>
    /// <param name="cancellationToken">Cancels starting the listener.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static async Task<EmbeddingServer> StartAsync(Func<Embedder> load, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The body limit is the server's own (413 as JSON), read with a cap in RequestJson.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
            if (IPAddress.TryParse(options.Host, out var ip))
            {
                kestrel.Listen(ip, options.Port);
            }
            else if (options.Host == "localhost")
            {
                kestrel.ListenLocalhost(options.Port);
            }
            else
            {
                throw new ArgumentException($"host '{options.Host}' is not an IP address or localhost", nameof(options));
            }
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));
        var app = builder.Build();
        var server = new EmbeddingServer(app, options);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        server._loading = Task.Run(() => server.Load(load), CancellationToken.None);
        return server;
    }

    private void Load(Func<Embedder> load)
    {
        try
        {
            var embedder = load();
            embedder.Encode("warm up");
            var scheduler = new BatchScheduler(embedder, _options.MaxBatchTokens, _metrics);
            _scheduler = scheduler;
            _pipeline = new EmbeddingPipeline(embedder, scheduler, _options);
        }
        catch (Exception e)
        {
            _loadError = e.Message;
            throw;
        }
    }

    /// <summary>Completes when the server stops (SIGTERM, Ctrl+C or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops: readiness turns 503, new requests are refused, requests in flight finish, then the listener closes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_scheduler is { } scheduler)
        {
            await scheduler.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
