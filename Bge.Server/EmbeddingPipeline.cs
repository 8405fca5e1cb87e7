using System.Diagnostics;
using Bge.Core;
using Bge.Core.Pooling;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>What one embedding request asks beyond its inputs.</summary>
internal sealed record EmbedSettings(bool Truncate, bool TruncateLeft, bool Query, bool Normalize, int? Dimensions);

/// <summary>A request's vectors with its token count and where its time went (TEI's timing headers).</summary>
internal sealed record Embedded(float[][] Vectors, int Tokens, TimeSpan Tokenization, TimeSpan Queue, TimeSpan Inference, IReadOnlyList<int> Lengths);

/// <summary>
/// The path every embedding route shares: check the inputs against the limits, tokenize them on the request's own
/// thread, admit them against the concurrency limit, queue them for a forward pass, then cut and normalize each
/// row as <see cref="Embedder.Encode(string, EncodeOptions?)"/> does, so that the vectors are the library's bits.
/// </summary>
internal sealed class EmbeddingPipeline(Embedder embedder, BatchScheduler scheduler, ServerOptions options)
{
    private int _inFlight;

    public Embedder Embedder => embedder;

    /// <summary>Tokens one input may hold: the tokenizer's and the position table's limit.</summary>
    public int MaxInputLength { get; } = embedder.MaxLength;

    public async Task<Embedded> Embed(IReadOnlyList<Input> inputs, EmbedSettings settings, string field, CancellationToken aborted)
    {
        if (inputs.Count == 0)
        {
            throw ApiException.Invalid($"'{field}' is empty: give at least one input", field);
        }

        CheckBatchSize(inputs.Count, field);

        if (settings.Dimensions is { } d && (d < 1 || d > embedder.Dimension))
        {
            throw ApiException.Invalid($"'dimensions' is {d}; this model gives 1 to {embedder.Dimension}", "dimensions");
        }

        if (settings.Query && embedder.QueryInstruction is null)
        {
            throw ApiException.Invalid($"the model {embedder.Name} has no query instruction", "prompt_name");
        }

        var started = Stopwatch.GetTimestamp();
        var encodings = new Encoding[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            encodings[i] = Tokenize(inputs[i], settings, inputs.Count == 1 ? field : $"{field}[{i}]");
        }

        var tokenization = Stopwatch.GetElapsedTime(started);
        if (Interlocked.Add(ref _inFlight, inputs.Count) > options.MaxConcurrentRequests)
        {
            Interlocked.Add(ref _inFlight, -inputs.Count);
            throw new ApiException(429, $"the server is at its limit of {options.MaxConcurrentRequests} inputs in flight (--max-concurrent-requests); retry shortly", code: "overloaded") { RetryAfter = 1 };
        }

        BatchScheduler.Result result;
        try
        {
            result = await scheduler.Embed(encodings, aborted).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _inFlight, -inputs.Count);
        }

        var vectors = result.Rows.Select(row => Finish(row, settings)).ToArray();
        return new Embedded(vectors, encodings.Sum(e => e.Length), tokenization, result.Queue, result.Inference, encodings.Select(e => e.Length).ToArray());
    }

    /// <summary>More inputs in one request than <c>--max-client-batch-size</c> are refused with 422 naming both numbers.</summary>
    public void CheckBatchSize(int count, string field)
    {
        if (count > options.MaxClientBatchSize)
        {
            throw ApiException.Invalid($"'{field}' holds {count} inputs; this server takes at most {options.MaxClientBatchSize} per request (--max-client-batch-size)", field);
        }
    }

    /// <summary>One input as tokens: a text tokenized (with the query instruction when asked), ids checked against the vocabulary; too long is truncated when allowed, else refused naming the count.</summary>
    public Encoding Tokenize(Input input, EmbedSettings settings, string field)
    {
        var max = MaxInputLength;
        if (input.Ids is { } ids)
        {
            if (ids.Length == 0)
            {
                throw ApiException.Invalid($"'{field}' holds no token ids", field);
            }

            var vocabulary = embedder.Model.Config.VocabSize;
            for (var i = 0; i < ids.Length; i++)
            {
                if ((uint)ids[i] >= (uint)vocabulary)
                {
                    throw ApiException.Invalid($"'{field}' token {i} is id {ids[i]}, outside the vocabulary of {vocabulary}", field);
                }
            }

            if (ids.Length > max && !settings.Truncate)
            {
                throw TooLong(field, ids.Length, max);
            }

            var kept = ids.Length <= max ? ids : settings.TruncateLeft ? ids[^max..] : ids[..max];
            return new Encoding(kept, new int[kept.Length], new (int, int)[kept.Length], new bool[kept.Length], kept.Length < ids.Length);
        }

        var text = input.Text ?? "";
        if (text.Length == 0)
        {
            throw ApiException.Invalid($"'{field}' is an empty string", field);
        }

        if (settings.Query)
        {
            text = embedder.QueryInstruction + text;
        }

        var encoding = embedder.Tokenizer.Encode(text, max);
        if (!encoding.Truncated)
        {
            return encoding;
        }

        if (!settings.Truncate)
        {
            // Counted only to say how long it is; a truncated request never tokenizes past the limit.
            throw TooLong(field, embedder.Tokenizer.Encode(text, int.MaxValue).Length, max);
        }

        return settings.TruncateLeft ? embedder.Tokenizer.Encode(text, max, TruncationSide.Left) : encoding;
    }

    private static ApiException TooLong(string field, int tokens, int max) =>
        ApiException.Invalid($"'{field}' has {tokens} tokens; the model takes at most {max}. Ask for truncation ('truncate': true, or start the server with --auto-truncate)", field);

    private float[] Finish(float[] pooled, EmbedSettings settings)
    {
        var vector = settings.Dimensions is { } d && d < pooled.Length ? pooled[..d] : pooled;
        if (settings.Normalize)
        {
            L2Normalize.InPlace(vector, embedder.Model.Simd);
        }

        return vector;
    }
}
