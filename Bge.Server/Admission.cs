using System.Diagnostics;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>A request's rows (vectors or logits) with its token count and where its time went (TEI's timing headers).</summary>
internal sealed record Computed(float[][] Rows, int Tokens, TimeSpan Tokenization, TimeSpan Queue, TimeSpan Inference, IReadOnlyList<int> Lengths);

/// <summary>
/// The path every model's requests share once their fields are read: at least one input and no more than
/// <c>--max-client-batch-size</c>, each input tokenized on the request's own thread, then admitted against
/// <c>--max-concurrent-requests</c> (inputs in flight over all requests and both models; past it 429 at once) and
/// queued on the model's <see cref="BatchScheduler"/>.
/// </summary>
internal sealed class Admission(ServerOptions options)
{
    private int _inFlight;

    /// <summary>More inputs in one request than <c>--max-client-batch-size</c> are refused with 422 naming both numbers.</summary>
    public void CheckBatchSize(int count, string field)
    {
        if (count > options.MaxClientBatchSize)
        {
            throw ApiException.Invalid($"'{field}' holds {count} inputs; this server takes at most {options.MaxClientBatchSize} per request (--max-client-batch-size)", field);
        }
    }

    /// <summary>Tokenizes <paramref name="count"/> inputs with <paramref name="tokenize"/> (given each one's index), admits them and waits for their rows.</summary>
    public async Task<Computed> Run(int count, string field, Func<int, Encoding> tokenize, BatchScheduler scheduler, CancellationToken aborted)
    {
        if (count == 0)
        {
            throw ApiException.Invalid($"'{field}' is empty: give at least one input", field);
        }

        CheckBatchSize(count, field);
        var started = Stopwatch.GetTimestamp();
        var encodings = new Encoding[count];
        for (var i = 0; i < count; i++)
        {
            encodings[i] = tokenize(i);
        }

        var tokenization = Stopwatch.GetElapsedTime(started);
        if (Interlocked.Add(ref _inFlight, count) > options.MaxConcurrentRequests)
        {
            Interlocked.Add(ref _inFlight, -count);
            throw new ApiException(429, $"the server is at its limit of {options.MaxConcurrentRequests} inputs in flight (--max-concurrent-requests); retry shortly", code: "overloaded") { RetryAfter = 1 };
        }

        BatchScheduler.Result result;
        try
        {
            result = await scheduler.Submit(encodings, aborted).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _inFlight, -count);
        }

        var lengths = encodings.Select(e => e.Length).ToArray();
        return new Computed(result.Rows, lengths.Sum(), tokenization, result.Queue, result.Inference, lengths);
    }
}
