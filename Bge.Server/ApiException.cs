namespace Bge.Server;

/// <summary>
/// A request the server refuses: the HTTP status, a message naming what is wrong, and for OpenAI's error shape the
/// offending field (<c>param</c>) and an error code. Thrown by the routes' parsing and checks, turned into a JSON
/// body in the route's own error shape.
/// </summary>
internal sealed class ApiException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>Seconds a client should wait before retrying (429 and 503), sent as <c>Retry-After</c>.</summary>
    public int? RetryAfter { get; init; }

    /// <summary>OpenAI's <c>type</c> and TEI's <c>error_type</c> for this status.</summary>
    public string Kind => Status switch
    {
        401 => "authentication_error",
        404 => "not_found",
        413 => "payload_too_large",
        422 => "validation_error",
        424 => "backend",
        429 => "overloaded",
        503 => "unavailable",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiException BadRequest(string message, string? param = null) => new(400, message, param, "invalid_request");

    public static ApiException Invalid(string message, string? param = null) => new(422, message, param, "invalid_value");

    /// <summary>How TEI's and OpenAI's requests ask for truncation.</summary>
    public const string TruncationAdvice = "'truncate': true, or start the server with --auto-truncate";

    /// <summary>An input longer than the model takes, without truncation asked: 422 naming its token count and the limit, and how the route asks for truncation.</summary>
    public static ApiException TooLong(string subject, string field, int tokens, int max, string advice = TruncationAdvice) =>
        Invalid($"{subject} has {tokens} tokens; the model takes at most {max}. Ask for truncation ({advice})", field);
}
