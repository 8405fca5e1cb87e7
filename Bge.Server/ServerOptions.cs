using Bge.Core;

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

    /// <summary>
    /// Calibration embeddings for the int8 and uint8 types of Cohere's <c>POST /v2/embed</c> (<c>bge serve --calibration
    /// FILE</c>): embeddings of the served model at its full width, as it gives them (normalized), whose per-dimension
    /// [min, max] set the 256 steps as sentence-transformers' <c>quantize_embeddings(…, calibration_embeddings=…)</c>
    /// takes them. For a request's <c>output_dimension</c> they are cut and re-normalized as its vectors are before their
    /// ranges are taken. Null (the default): int8 and uint8 are refused; float, base64 and the binary types need none.
    /// Embeddings of another width stop the embedding model from loading, naming both widths.
    /// </summary>
    public EmbeddingMatrix? Calibration { get; init; }

    /// <summary>Checks every limit, naming the first that is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range, or <see cref="Calibration"/> holds no embedding.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 0, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchTokens, 1, nameof(MaxBatchTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxClientBatchSize, 1, nameof(MaxClientBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(PayloadLimit, 1, nameof(PayloadLimit));
        if (Calibration is { Rows: 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(Calibration), "the calibration embeddings hold no embedding");
        }
    }
}
