using Bge.Core;
using Bge.Core.Pooling;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>What one embedding request asks beyond its inputs.</summary>
internal sealed record EmbedSettings(bool Truncate, bool TruncateLeft, bool Query, bool Normalize, int? Dimensions)
{
    /// <summary>The field that asked for <see cref="Dimensions"/>, named when it is out of range.</summary>
    public string DimensionsField { get; init; } = "dimensions";

    /// <summary>How the route's request asks for truncation, told with the refusal of an input too long.</summary>
    public string TruncationAdvice { get; init; } = ApiException.TruncationAdvice;

    /// <summary>Whether a lone input is named with its index too, for a route whose inputs are always an array.</summary>
    public bool IndexEveryInput { get; init; }
}

/// <summary>
/// The path every embedding route shares: check the settings, tokenize the inputs, admit and queue them
/// (<see cref="Admission"/>), then cut and normalize each row as <see cref="Embedder.Encode(string, EncodeOptions?)"/>
/// does, so that the vectors are the library's bits. Lexical weights (/embed_sparse) and ColBERT vectors
/// (/embed_colbert) come from the same passes.
/// </summary>
internal sealed class EmbeddingPipeline(Embedder embedder, BatchScheduler<EmbedderRow> scheduler, Admission admission, CalibrationRanges? calibration)
{
    public Embedder Embedder => embedder;

    /// <summary>The ranges int8 and uint8 answers are quantized against; null when the server was started without calibration embeddings.</summary>
    public CalibrationRanges? Calibration => calibration;

    /// <summary>Tokens one input may hold: the tokenizer's and the position table's limit.</summary>
    public int MaxInputLength { get; } = embedder.MaxLength;

    /// <summary>The request's vectors (<see cref="Computed{T}.Rows"/>), cut and normalized as asked.</summary>
    public async Task<Computed<float[]>> Embed(IReadOnlyList<Input> inputs, EmbedSettings settings, string field, CancellationToken aborted)
    {
        if (settings.Dimensions is { } d && (d < 1 || d > embedder.Dimension))
        {
            throw ApiException.Invalid($"'{settings.DimensionsField}' is {d}; this model gives 1 to {embedder.Dimension}", settings.DimensionsField);
        }

        var computed = await Run(inputs, settings, EncoderOutputs.Dense, field, aborted).ConfigureAwait(false);
        return computed.Select(row => Finish(row.Dense, settings));
    }

    /// <summary>
    /// The request's lexical weights (bge-m3's sparse head, <see cref="EncoderOutputs.Sparse"/>), the bits
    /// <see cref="Embedder.EncodeOutputs"/> gives; 424 (TEI's status for a model that is not a sparse one) when the
    /// model directory has no <c>sparse_linear.pt</c>.
    /// </summary>
    public async Task<Computed<SparseVector>> EmbedSparse(IReadOnlyList<Input> inputs, EmbedSettings settings, string field, CancellationToken aborted)
    {
        var computed = await Run(inputs, settings, EncoderOutputs.Sparse, field, aborted).ConfigureAwait(false);
        return computed.Select(row => row.Sparse!);
    }

    /// <summary>
    /// The request's ColBERT vectors (bge-m3's multi-vector head, <see cref="EncoderOutputs.ColBert"/>: every token but
    /// the first, each L2-normalized), the bits <see cref="Embedder.EncodeOutputs"/> gives; 424 when the model
    /// directory has no <c>colbert_linear.pt</c>.
    /// </summary>
    public async Task<Computed<MultiVector>> EmbedColBert(IReadOnlyList<Input> inputs, EmbedSettings settings, string field, CancellationToken aborted)
    {
        var computed = await Run(inputs, settings, EncoderOutputs.ColBert, field, aborted).ConfigureAwait(false);
        return computed.Select(row => row.ColBert!);
    }

    // What every embedding request shares before its inputs are tokenized: the head it needs (424, TEI's status for a
    // model that is not a sparse one, naming the file) and the query instruction when asked for.
    private Task<Computed<EmbedderRow>> Run(IReadOnlyList<Input> inputs, EmbedSettings settings, EncoderOutputs output, string field, CancellationToken aborted)
    {
        if (!embedder.AvailableOutputs.HasFlag(output))
        {
            var (kind, route, head) = output == EncoderOutputs.Sparse
                ? ("sparse", "/embed_sparse", "lexical head, sparse_linear.pt")
                : ("ColBERT", "/embed_colbert", "multi-vector head, colbert_linear.pt");
            throw new ApiException(424, $"the model {embedder.Name} is not a {kind} model: {route} needs bge-m3's {head}, in the model directory");
        }

        if (settings.Query && embedder.QueryInstruction is null)
        {
            throw ApiException.Invalid($"the model {embedder.Name} has no query instruction", "prompt_name");
        }

        // Only ColBERT is an output a pass computes on request; dense and sparse rows come with every pass.
        var asks = output & EncoderOutputs.ColBert;
        return admission.Run(inputs.Count, field, i => Tokenize(inputs[i], settings, inputs.Count == 1 && !settings.IndexEveryInput ? field : $"{field}[{i}]"), scheduler, asks, aborted);
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
                throw ApiException.TooLong($"'{field}'", field, ids.Length, max, settings.TruncationAdvice);
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
            throw ApiException.TooLong($"'{field}'", field, embedder.Tokenizer.Encode(text, int.MaxValue).Length, max, settings.TruncationAdvice);
        }

        return settings.TruncateLeft ? embedder.Tokenizer.Encode(text, max, TruncationSide.Left) : encoding;
    }

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
