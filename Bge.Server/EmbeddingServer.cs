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
/// <c>bge serve</c>: an HTTP server that embeds text with an <see cref="Embedder"/>, speaking OpenAI's embeddings
/// API (<c>POST /v1/embeddings</c>), Cohere's Embed API v2 (<c>POST /v2/embed</c>, with its int8 and binary embedding
/// types) and Hugging Face TEI's (<c>/embed</c>, <c>/embed_sparse</c> for bge-m3's lexical
/// weights, <c>/similarity</c>, <c>/tokenize</c>, <c>/info</c>), with <c>/embed_colbert</c> beside them for bge-m3's
/// ColBERT vectors, and ranks passages with a cross-encoder <see cref="Reranker"/> (TEI's <c>POST /rerank</c>,
/// Cohere's and Jina's <c>POST /v1/rerank</c>), either model or both; with <c>/health</c> (liveness),
/// <c>/ready</c> (readiness) and <c>/metrics</c> (Prometheus). The listener is up at once; the models load and warm
/// behind it, and <c>/ready</c> answers 503 until every one has. Concurrent requests to one model share forward
/// passes (one <see cref="BatchScheduler{T}"/> per model); a route of a model the server was not started with answers
/// 404 naming it.
/// </summary>
public sealed class EmbeddingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerOptions _options;
    private readonly ServerMetrics _metrics = new();
    private readonly ModelSlot<EmbeddingPipeline>? _embedding;
    private readonly ModelSlot<RerankPipeline>? _reranking;
    private Task _loading = Task.CompletedTask;
    private volatile bool _stopping;

    private EmbeddingServer(WebApplication app, ServerOptions options, bool embedding, bool reranking)
    {
        (_app, _options) = (app, options);
        Admission = new Admission(options);
        _embedding = embedding ? new ModelSlot<EmbeddingPipeline>("embedding model") : null;
        _reranking = reranking ? new ModelSlot<RerankPipeline>("reranker") : null;
        app.Lifetime.ApplicationStopping.Register(() => _stopping = true);
        Routes.Map(app, this);
    }

    /// <summary>Where the server listens (with the port it was given when <see cref="ServerOptions.Port"/> was 0).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Whether every model the server was started with is loaded and warmed and the server is not shutting down (what <c>/ready</c> answers).</summary>
    public bool IsReady => (_embedding?.IsLoaded ?? true) && (_reranking?.IsLoaded ?? true) && !_stopping;

    /// <summary>Completes when every model is loaded and warmed; faults with a loader's exception if loading failed.</summary>
    public Task Loaded => _loading;

    internal ServerOptions Options => _options;

    internal ServerMetrics Metrics => _metrics;

    internal Admission Admission { get; }

    internal int Queued => (_embedding?.Scheduler?.Queued ?? 0) + (_reranking?.Scheduler?.Queued ?? 0);

    /// <summary>Whether stopping has begun: requests that arrive from now on are refused, those already in flight finish.</summary>
    internal bool Stopping => _stopping;

    internal bool ServesEmbeddings => _embedding is not null;

    internal bool ServesReranking => _reranking is not null;

    /// <summary>The embedding pipeline; 503 while the model loads (or failed to), 404 on a server started without one.</summary>
    internal EmbeddingPipeline Pipeline => (_embedding ?? throw NotServed("an embedding model", "--model (MODEL_ID)", "embeddings")).Pipeline;

    /// <summary>The rerank pipeline; 503 while the reranker loads (or failed to), 404 on a server started without one.</summary>
    internal RerankPipeline Reranking => (_reranking ?? throw NotServed("a reranker", "--reranker (RERANKER_ID)", "/rerank and /v1/rerank")).Pipeline;

    private static ApiException NotServed(string model, string flag, string what) =>
        new(404, $"this server was started without {model}: start it with {flag} to serve {what}", code: "model_not_found");

    /// <summary>Starts listening at once and loads the model behind the listener with <paramref name="load"/>.</summary>
    /// <param name="load">Loads the embedder (called once, off the caller's thread).</param>
    /// <param name="options">Address, limits and key.</param>
    /// <param name="cancellationToken">Cancels starting the listener.</param>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static Task<EmbeddingServer> StartAsync(Func<Embedder> load, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(load);
        return StartAsync(load, null, options, cancellationToken);
    }

    /// <summary>
    /// Starts listening at once and loads an embedder, a reranker or both behind the listener. Without an embedder the
    /// embedding routes answer 404; without a reranker the rerank routes do.
    /// </summary>
    /// <param name="loadEmbedder">Loads the embedder (called once, off the caller's thread); null to serve no embeddings.</param>
    /// <param name="loadReranker">Loads the cross-encoder (called once, off the caller's thread), e.g. with <see cref="Reranker.Load"/>; null to serve no reranking.</param>
    /// <param name="options">Address, limits and key, shared by both models.</param>
    /// <param name="cancellationToken">Cancels starting the listener.</param>
    /// <exception cref="ArgumentException">Both loaders are null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is out of range.</exception>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static async Task<EmbeddingServer> StartAsync(Func<Embedder>? loadEmbedder, Func<Reranker>? loadReranker, ServerOptions options, CancellationToken cancellationToken = default)
    {
        if (loadEmbedder is null && loadReranker is null)
        {
            throw new ArgumentException("give an embedder, a reranker or both to serve", nameof(loadEmbedder));
        }

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
        var server = new EmbeddingServer(app, options, loadEmbedder is not null, loadReranker is not null);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        server._loading = Task.WhenAll(
            server._embedding is { } embedding ? Task.Run(() => embedding.Load(() => server.LoadEmbedder(loadEmbedder!)), CancellationToken.None) : Task.CompletedTask,
            server._reranking is { } reranking ? Task.Run(() => reranking.Load(() => server.LoadReranker(loadReranker!)), CancellationToken.None) : Task.CompletedTask);
        return server;
    }

    private (EmbeddingPipeline, IScheduler) LoadEmbedder(Func<Embedder> load)
    {
        var embedder = load();
        var calibration = _options.Calibration is { } embeddings ? new CalibrationRanges(embeddings, embedder) : null;
        embedder.Encode("warm up");
        var scheduler = new BatchScheduler<EmbedderRow>(Computations.Embeddings(embedder), _options.MaxBatchTokens, _metrics, "embedder");
        return (new EmbeddingPipeline(embedder, scheduler, Admission, calibration), scheduler);
    }

    private (RerankPipeline, IScheduler) LoadReranker(Func<Reranker> load)
    {
        var reranker = load();
        if (reranker.Labels.Count != 1)
        {
            throw new InvalidOperationException($"{reranker.Name} has {reranker.Labels.Count} labels ({string.Join(", ", reranker.Labels)}); reranking needs a cross-encoder with one relevance logit");
        }

        reranker.Score("warm up", "warm up");
        var scheduler = new BatchScheduler<float[]>((tokens, _) => reranker.ScoreBatch(tokens), _options.MaxBatchTokens, _metrics, "reranker");
        return (new RerankPipeline(reranker, scheduler, Admission), scheduler);
    }

    /// <summary>Completes when the server stops (SIGTERM, Ctrl+C or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops: readiness turns 503, new requests are refused, requests in flight finish, then the listener closes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_embedding is { } embedding)
        {
            await embedding.DisposeAsync().ConfigureAwait(false);
        }

        if (_reranking is { } reranking)
        {
            await reranking.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
