namespace Bge.Weights.Hub;

/// <summary>Why a Hub download failed.</summary>
public enum HubFailure
{
    /// <summary>A malformed model id, revision or setting.</summary>
    BadRequest,

    /// <summary>401/403: the model is gated or private, or the token is wrong.</summary>
    Unauthorized,

    /// <summary>404: no such model, revision or file.</summary>
    NotFound,

    /// <summary>The Hub cannot be reached (offline, DNS, refused connection, timeout).</summary>
    Unreachable,

    /// <summary>The downloaded bytes do not have the SHA-256 the Hub announced.</summary>
    ChecksumMismatch,

    /// <summary>The disk is full, or the file cannot be written.</summary>
    DiskFull,

    /// <summary>The repository has no weights this engine may load (only a pickled pytorch_model.bin, say).</summary>
    Unsupported,

    /// <summary>Any other unexpected answer from the server.</summary>
    Protocol,
}

/// <summary>A Hub download that failed, with one clear message; nothing half-written is left where it would be used.</summary>
public sealed class HubException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HubException(HubFailure failure, string message, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
    }

    /// <summary>What went wrong.</summary>
    public HubFailure Failure { get; }
}
