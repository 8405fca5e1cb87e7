using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Bge.Server;

/// <summary>
/// A JSON response body sent as it is written, for answers too long to hold whole: bge-m3's ColBERT vectors of one
/// 8,192-token input are 8,191 × 1,024 floats, 33 MB as floats and about 100 MB as JSON text (some 12 bytes a value).
/// The writer writes into the response's pipe, and <see cref="Send"/> flushes it to the connection once
/// <see cref="FlushBytes"/> have gathered, waiting while the client is slower than the writer; so at most about that
/// much of the text is in memory at a time. The body has no Content-Length (HTTP/1.1 sends it chunked), and a failure
/// once it has begun can only cut it short.
/// </summary>
internal sealed class StreamedJson : IDisposable
{
    /// <summary>Bytes gathered before <see cref="Send"/> flushes them.</summary>
    public const int FlushBytes = 64 * 1024;

    /// <summary>How every JSON body of the server is written: non-ASCII text as it is, not escaped.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly PipeWriter _body;
    private readonly CancellationToken _aborted;
    private long _sent;

    private StreamedJson(PipeWriter body, CancellationToken aborted)
    {
        (_body, _aborted) = (body, aborted);
        Writer = new Utf8JsonWriter(body, Options);
    }

    /// <summary>Where the body is written; call <see cref="Send"/> every so often (after each vector, say).</summary>
    public Utf8JsonWriter Writer { get; }

    /// <summary>Answers <paramref name="context"/> with the JSON <paramref name="body"/> writes, sent as it goes.</summary>
    public static async Task Write(HttpContext context, Func<StreamedJson, Task> body)
    {
        context.Response.ContentType = "application/json";
        using var json = new StreamedJson(context.Response.BodyWriter, context.RequestAborted);
        await body(json).ConfigureAwait(false);
        await json.Flush().ConfigureAwait(false);
    }

    /// <summary>Flushes what is written once it has reached <see cref="FlushBytes"/>.</summary>
    public ValueTask Send() => Writer.BytesCommitted + Writer.BytesPending - _sent < FlushBytes ? ValueTask.CompletedTask : Flush();

    private async ValueTask Flush()
    {
        Writer.Flush();
        _sent = Writer.BytesCommitted;
        var result = await _body.FlushAsync(_aborted).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            // The client has stopped reading: what is left would be formatted for no one.
            throw new OperationCanceledException("the client stopped reading the response", _aborted);
        }
    }

    public void Dispose() => Writer.Dispose();
}
