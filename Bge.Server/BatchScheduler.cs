using System.Diagnostics;
using System.Threading.Channels;
using Bge.Core;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>
/// One queue in front of one model. Requests arrive tokenized; a single loop takes whatever is waiting, packs it
/// into one batch up to the token budget (no padding: the batch is all tokens end to end), runs one forward pass
/// (the model's compute function: pooled rows for the embedder, logits for the reranker) and hands each row back to
/// the request it came from. Concurrent requests therefore share forward passes, and a request whose client has gone
/// away is dropped before it costs compute. The compute function's row <c>b</c> must depend on sequence <c>b</c>
/// alone, so that a request's answer does not depend on whom it shared a pass with. A request may ask for outputs
/// beyond those every row carries (bge-m3's ColBERT vectors, too large to compute for rows that do not want them);
/// the compute function is told what each sequence's request asked.
/// </summary>
/// <typeparam name="T">What the pass gives per sequence: a vector, logits, or the embedder's rows of several heads.</typeparam>
internal sealed class BatchScheduler<T> : IScheduler
    where T : class
{
    private readonly Func<TokenBatch, EncoderOutputs[], T[]> _compute;
    private readonly int _maxBatchTokens;
    private readonly ServerMetrics _metrics;
    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queued;

    /// <param name="compute">One forward pass: a row per sequence of the batch, in order, given what each sequence's request asked beyond the rows' usual outputs.</param>
    /// <param name="maxBatchTokens">Tokens in one forward pass at most (a longer input still gets a pass of its own).</param>
    /// <param name="metrics">Where each pass's size is counted.</param>
    /// <param name="model">What the loop's thread is named after ("embedder", "reranker").</param>
    public BatchScheduler(Func<TokenBatch, EncoderOutputs[], T[]> compute, int maxBatchTokens, ServerMetrics metrics, string model)
    {
        (_compute, _maxBatchTokens, _metrics) = (compute, maxBatchTokens, metrics);
        // Forward passes block for tens of milliseconds at a time: they run on a thread of their own, so that the
        // thread pool stays free for the requests arriving meanwhile.
        new Thread(Run) { IsBackground = true, Name = $"Bge batch scheduler ({model})" }.Start();
    }

    /// <summary>Inputs waiting for a forward pass.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>The rows of <paramref name="inputs"/>, in order, with the time spent queued and computing; <paramref name="asks"/> goes to the compute function with each of them.</summary>
    public Task<Result> Submit(IReadOnlyList<Encoding> inputs, EncoderOutputs asks, CancellationToken aborted)
    {
        var job = new Job(inputs, asks, aborted);
        Interlocked.Add(ref _queued, inputs.Count);
        if (!_queue.Writer.TryWrite(job))
        {
            Interlocked.Add(ref _queued, -inputs.Count);
            throw new ApiException(503, "the server is shutting down") { RetryAfter = 1 };
        }

        return job.Done.Task;
    }

    public sealed record Result(T[] Rows, TimeSpan Queue, TimeSpan Inference);

    private void Run()
    {
        var pending = new List<(Job Job, int Index)>();
        var reader = _queue.Reader;
        try
        {
            while (pending.Count > 0 || reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var job))
                {
                    for (var i = 0; i < job.Inputs.Count; i++)
                    {
                        pending.Add((job, i));
                    }
                }

                var batch = Take(pending);
                if (batch.Count > 0)
                {
                    Compute(batch);
                }
            }
        }
        finally
        {
            // Shutdown waits on this, whatever ended the loop.
            _stopped.TrySetResult();
        }
    }

    // The next batch: waiting inputs in arrival order up to the token budget (at least one), those of requests
    // already abandoned dropped on the way.
    private List<(Job Job, int Index)> Take(List<(Job Job, int Index)> pending)
    {
        var batch = new List<(Job, int)>();
        var tokens = 0;
        var taken = 0;
        foreach (var item in pending)
        {
            if (item.Job.Aborted.IsCancellationRequested)
            {
                taken++;
                Interlocked.Decrement(ref _queued);
                item.Job.Done.TrySetCanceled(item.Job.Aborted);
                continue;
            }

            var length = item.Job.Inputs[item.Index].Length;
            if (batch.Count > 0 && tokens + length > _maxBatchTokens)
            {
                break;
            }

            batch.Add(item);
            tokens += length;
            taken++;
        }

        pending.RemoveRange(0, taken);
        return batch;
    }

    private void Compute(List<(Job Job, int Index)> batch)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _queued, -batch.Count);
        try
        {
            var tokens = new TokenBatch(batch.Select(b => b.Job.Inputs[b.Index]).ToList());
            _metrics.Batch(batch.Count, tokens.TotalTokens);
            var rows = _compute(tokens, batch.Select(b => b.Job.Asks).ToArray());
            var inference = Stopwatch.GetElapsedTime(started);
            for (var b = 0; b < batch.Count; b++)
            {
                var (job, index) = batch[b];
                job.Complete(index, rows[b], started, inference);
            }
        }
        catch (Exception e)
        {
            // Whatever went wrong, the loop goes on serving: the batch's requests get a 500 naming it.
            foreach (var (job, _) in batch)
            {
                job.Done.TrySetException(new ApiException(500, "the forward pass failed: " + e.Message));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
    }

    private sealed class Job(IReadOnlyList<Encoding> inputs, EncoderOutputs asks, CancellationToken aborted)
    {
        private readonly long _enqueued = Stopwatch.GetTimestamp();
        private readonly T[] _rows = new T[inputs.Count];
        private int _remaining = inputs.Count;
        private long _firstStart;
        private long _lastStart;
        private TimeSpan _inference;

        public IReadOnlyList<Encoding> Inputs { get; } = inputs;

        public EncoderOutputs Asks { get; } = asks;

        public CancellationToken Aborted { get; } = aborted;

        public TaskCompletionSource<Result> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Called from the scheduler's loop only.
        public void Complete(int index, T row, long started, TimeSpan inference)
        {
            _rows[index] = row;
            _firstStart = _firstStart == 0 ? started : _firstStart;
            if (started != _lastStart)
            {
                (_lastStart, _inference) = (started, _inference + inference);
            }

            if (--_remaining == 0)
            {
                Done.TrySetResult(new Result(_rows, Stopwatch.GetElapsedTime(_enqueued, _firstStart), _inference));
            }
        }
    }
}

/// <summary>A model's queue as the server sees it whatever its rows: how much waits, and stopping.</summary>
internal interface IScheduler : IAsyncDisposable
{
    /// <summary>Inputs waiting for a forward pass.</summary>
    int Queued { get; }
}

/// <summary>
/// One row of the embedder's pass: the pooled, not yet normalized vector, bge-m3's lexical weights when the model
/// has the sparse head, and its ColBERT vectors when the row's request asked for them (each null otherwise).
/// </summary>
internal sealed record EmbedderRow(float[] Dense, SparseVector? Sparse, MultiVector? ColBert);

/// <summary>The models' compute functions.</summary>
internal static class Computations
{
    /// <summary>
    /// The embedder's forward pass: pooled, not yet normalized rows and, when the model has bge-m3's sparse head, each
    /// sequence's lexical weights too, so that /embed, /embed_sparse and /embed_colbert requests share passes (the
    /// sparse head costs one dot product of the hidden size per token, nothing beside the encoder's layers).
    /// </summary>
    /// <remarks>
    /// ColBERT vectors are computed only in a pass holding a sequence whose request asked for them: they are a hidden
    /// × hidden product per token and hidden floats per token to hold (64 MB for a pass of 16,384 tokens of bge-m3),
    /// more than a dense request should pay for. Such a pass computes them for all its sequences (per token, the head's
    /// product is 1/288 of those in bge-m3's 24 layers) and hands them only to the rows that asked, so a dense request
    /// sharing the pass holds none of them.
    /// </remarks>
    public static Func<TokenBatch, EncoderOutputs[], EmbedderRow[]> Embeddings(Embedder embedder)
    {
        var always = embedder.AvailableOutputs & (EncoderOutputs.Dense | EncoderOutputs.Sparse);
        return (tokens, asks) =>
        {
            var colbert = asks.Any(a => a.HasFlag(EncoderOutputs.ColBert));
            var result = embedder.EncodeBatchOutputs(tokens, always | (colbert ? EncoderOutputs.ColBert : EncoderOutputs.None), normalize: false);
            return Enumerable.Range(0, tokens.Count)
                .Select(b => new EmbedderRow(result.Dense!.RowArray(b), result.Sparse?[b], asks[b].HasFlag(EncoderOutputs.ColBert) ? result.ColBert![b] : null))
                .ToArray();
        };
    }
}
