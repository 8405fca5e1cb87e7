using System.Diagnostics;
using Bge.Core;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>A request's rows (vectors, logits or lexical weights) with its token count and where its time went (TEI's timing headers).</summary>
/// <typeparam name="T">One input's row.</typeparam>
internal sealed record Computed<T>(T[] Rows, int Tokens, TimeSpan Tokenization, TimeSpan Queue, TimeSpan Inference, IReadOnlyList<int> Lengths)
{
    /// <summary>The same request with each row mapped by <paramref name="map"/>.</summary>
    public Computed<TOut> Select<TOut>(Func<T, TOut> map) => new(Rows.Select(map).ToArray(), Tokens, Tokenization, Queue, Inference, Lengths);
}

/// <summary>
/// The path every model's requests share once their fields are read: at least one input and no more than
/// <c>--max-client-batch-size</c>, each input tokenized on the request's own thread, then admitted against
/// <c>--max-concurrent-requests</c> (inputs in flight over all requests and both models; past it 429 at once) and
/// queued on the model's <see cref="BatchScheduler{T}"/>.
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

    /// <summary>Tokenizes <paramref name="count"/> inputs with <paramref name="tokenize"/> (given each one's index), admits them and waits for their rows (with the outputs <paramref name="asks"/> beyond the usual ones).</summary>
    public async Task<Computed<T>> Run<T>(int count, string field, Func<int, Encoding> tokenize, BatchScheduler<T> scheduler, EncoderOutputs asks, CancellationToken aborted)
        where T : class
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

        BatchScheduler<T>.Result result;
        try
        {
            result = await scheduler.Submit(encodings, asks, aborted).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _inFlight, -count);
        }

        var lengths = encodings.Select(e => e.Length).ToArray();
        return new Computed<T>(result.Rows, lengths.Sum(), tokenization, result.Queue, result.Inference, lengths);
    }
}
