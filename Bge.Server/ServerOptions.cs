namespace Bge.Server;

/// <summary>How <see cref="EmbeddingServer"/> listens, batches and limits (the flags of <c>bge serve</c>).</summary>
public sealed record ServerOptions
{
    /// <summary>The address to listen on; loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (see <see cref="EmbeddingServer.Address"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Tokens in one forward pass at most: concurrent requests are packed together up to this budget.</summary>
    public int MaxBatchTokens { get; init; } = 16384;

    /// <summary>Inputs in one request at most; more are refused with 422.</summary>
    public int MaxClientBatchSize { get; init; } = 32;

    /// <summary>Inputs admitted and not yet answered, over all requests; past it a request gets 429 at once.</summary>
    public int MaxConcurrentRequests { get; init; } = 512;

    /// <summary>Truncate inputs longer than the model takes instead of refusing them (a request may still ask either way).</summary>
    public bool AutoTruncate { get; init; }

    /// <summary>When set, every route but health, readiness and metrics needs <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Request body bytes at most; larger bodies get 413.</summary>
    public long PayloadLimit { get; init; } = 2_000_000;

    /// <summary>The model name reported by <c>/info</c> and in OpenAI responses; the model directory's name when null.</summary>
    public string? ModelId { get; init; }

    /// <summary>Checks every limit, naming the first that is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 0, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchTokens, 1, nameof(MaxBatchTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxClientBatchSize, 1, nameof(MaxClientBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(PayloadLimit, 1, nameof(PayloadLimit));
    }
}
