using System.Diagnostics;
using System.Numerics.Tensors;
using Bge.Core.Heads;
using Bge.Core.Model;
using Bge.Core.Pooling;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Core;

/// <summary>
/// Text in, embeddings out: tokenize → <see cref="Encoder"/> → pooling → L2 normalization, like
/// FlagEmbedding's FlagModel. Inputs are sorted by length before batching and results returned in input
/// order. One instance may be used by many threads at once.
/// </summary>
public sealed class Embedder
{
    private readonly Action<string> _warn;
    private SparseLexical? _sparse;
    private ColBert? _colbert;

    /// <summary>Builds an embedder from its parts.</summary>
    /// <param name="model">The encoder.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="trainedPooling">The pooling the model was trained with.</param>
    /// <param name="queryInstruction">The retrieval instruction for queries, or null.</param>
    /// <param name="options">Threads and warnings.</param>
    /// <param name="name">The model's name (what indexes record as the model that made them).</param>
    public Embedder(Encoder model, Tokenizer.Tokenizer tokenizer, PoolingMode trainedPooling, string? queryInstruction, EmbedderOptions? options = null, string name = "unnamed")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Model = model;
        Tokenizer = tokenizer;
        TrainedPooling = trainedPooling;
        QueryInstruction = queryInstruction;
        Options = options ?? new EmbedderOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.DegreeOfParallelism, 1, nameof(options));
        _warn = Options.Warning ?? (message => Trace.TraceWarning(message));
    }

    /// <summary>The model's name: its Hub id for a Hub-cache snapshot, else its directory's name, when loaded from one.</summary>
    public string Name { get; }

    /// <summary>The encoder.</summary>
    public Encoder Model { get; }

    /// <summary>The tokenizer.</summary>
    public Tokenizer.Tokenizer Tokenizer { get; }

    /// <summary>The pooling the model was trained with, used unless a call asks for another.</summary>
    public PoolingMode TrainedPooling { get; }

    /// <summary>The instruction <see cref="EncodeQueries"/> prepends, or null if the model has none.</summary>
    public string? QueryInstruction { get; }

    /// <summary>The embedder's settings.</summary>
    public EmbedderOptions Options { get; }

    /// <summary>
    /// The longest input in tokens, specials included, when a call does not say: the tokenizer's maximum (the model
    /// directory's own, from sentence_bert_config.json or tokenizer_config.json) within the encoder's positions.
    /// </summary>
    public int MaxLength => Math.Min(Tokenizer.MaxLength, Model.Config.MaxSequenceLength);

    /// <summary>The embedding dimension.</summary>
    public int Dimension => Model.Config.HiddenSize;

    /// <summary>
    /// The outputs <see cref="EncodeOutputs"/> can give: always <see cref="EncoderOutputs.Dense"/>; with bge-m3's head
    /// files in the model directory (<c>sparse_linear.pt</c>, <c>colbert_linear.pt</c>) also Sparse and ColBert.
    /// </summary>
    public EncoderOutputs AvailableOutputs =>
        EncoderOutputs.Dense | (_sparse is null ? 0 : EncoderOutputs.Sparse) | (_colbert is null ? 0 : EncoderOutputs.ColBert);

    /// <summary>Loads a Hub-layout model directory (config, safetensors weights, vocabulary, pooling and instruction).</summary>
    /// <exception cref="ModelFormatException">A model file is missing, malformed or inconsistent.</exception>
    /// <exception cref="TokenizerFormatException">The tokenizer files are malformed.</exception>
    /// <exception cref="ArgumentException">The <c>BGE_SIMD</c> environment variable names no SIMD width (when <see cref="EmbedderOptions.Simd"/> is null).</exception>
    public static Embedder Load(string modelDirectory, EmbedderOptions? options = null)
    {
        var directory = ModelDirectory.Open(modelDirectory);
        Encoder model;
        using (var weights = directory.OpenWeights())
        {
            model = Encoder.Load(weights, options?.Simd, options?.Precision);
        }

        var tokenizer = Bge.Tokenizer.Tokenizer.FromDirectory(modelDirectory, directory.ModelMaxLength);
        if (tokenizer.VocabularySize > model.Config.VocabSize)
        {
            throw new ModelFormatException(modelDirectory, $"the vocabulary has {tokenizer.VocabularySize} tokens but the model's embedding table only {model.Config.VocabSize}");
        }

        var embedder = new Embedder(model, tokenizer, directory.Pooling, directory.QueryInstruction, options, directory.Name);
        if (File.Exists(Path.Combine(modelDirectory, SparseLexical.FileName)))
        {
            embedder._sparse = SparseLexical.Load(Path.Combine(modelDirectory, SparseLexical.FileName), model.Config, UnusedIds(tokenizer), model.Simd);
        }

        if (File.Exists(Path.Combine(modelDirectory, ColBert.FileName)))
        {
            embedder._colbert = ColBert.Load(Path.Combine(modelDirectory, ColBert.FileName), model.Config, model.Simd);
        }

        return embedder;
    }

    // The ids FlagEmbedding leaves out of lexical weights: the tokenizer's cls, eos, pad and unk tokens.
    private static HashSet<int> UnusedIds(Tokenizer.Tokenizer tokenizer)
    {
        var ids = new HashSet<int> { tokenizer.PadId };
        foreach (var token in new[] { "<s>", "</s>", "<pad>", "<unk>", "[CLS]", "[SEP]", "[PAD]", "[UNK]" })
        {
            if (tokenizer.TokenToId(token) is { } id)
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    /// <summary>Embeds one text.</summary>
    public float[] Encode(string text, EncodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode([text], options).RowArray(0);
    }

    /// <summary>Embeds texts; row <c>i</c> of the result is the embedding of <c>texts[i]</c>.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="options">Pooling, normalization, truncation and batch size.</param>
    /// <param name="progress">Told after each batch how many texts are done.</param>
    /// <param name="cancellationToken">Checked before each batch; a cancelled call leaves the embedder as it was.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public EmbeddingMatrix Encode(IReadOnlyList<string> texts, EncodeOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var maxLength = CheckOptions(options ??= new EncodeOptions());
        var pooling = Poolings.For(options.Pooling ?? TrainedPooling, Model.Simd);
        if (pooling.Mode != TrainedPooling)
        {
            _warn($"{pooling.Mode} pooling requested, but this model was trained with {TrainedPooling} pooling; embeddings may lose quality");
        }

        var encodings = texts.Select(t => Tokenizer.Encode(t ?? throw new ArgumentNullException(nameof(texts), "a text is null"), maxLength)).ToArray();
        var result = new float[texts.Count * Dimension];
        RunBatches(encodings, options.BatchSize, progress, cancellationToken, (_, states, members) => Pool(states, pooling, options.Normalize, result, members));
        var embeddings = new EmbeddingMatrix(result, texts.Count, Dimension);
        return options.Dimensions is { } dimensions && dimensions != Dimension ? Compression.Matryoshka.Truncate(embeddings, dimensions, options.Normalize) : embeddings;
    }

    /// <summary>
    /// The outputs asked for of each text, from one forward pass per batch: the dense embedding (as
    /// <see cref="Encode(IReadOnlyList{string}, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/> gives
    /// it), bge-m3's lexical weights and its ColBERT vectors, as FlagEmbedding's BGEM3FlagModel computes them.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="outputs">Which outputs; each must be in <see cref="AvailableOutputs"/>.</param>
    /// <param name="options">Pooling and normalization (of the dense output), truncation and batch size.</param>
    /// <param name="progress">Told after each batch how many texts are done.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    /// <exception cref="ArgumentException">An output asked for is not one this model has, or none is asked for.</exception>
    public EncodeResult EncodeOutputs(IReadOnlyList<string> texts, EncoderOutputs outputs, EncodeOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckOutputs(outputs);
        var maxLength = CheckOptions(options ??= new EncodeOptions());
        var encodings = texts.Select(t => Tokenizer.Encode(t ?? throw new ArgumentNullException(nameof(texts), "a text is null"), maxLength)).ToArray();
        return EncodeTokenized(encodings, outputs, options, progress, cancellationToken);
    }

    private EncodeResult EncodeTokenized(Encoding[] encodings, EncoderOutputs outputs, EncodeOptions options, IProgress<EncodeProgress>? progress, CancellationToken cancellationToken)
    {
        var pooling = Poolings.For(options.Pooling ?? TrainedPooling, Model.Simd);
        var result = NewResult(outputs, encodings.Length);
        RunBatches(encodings, options.BatchSize, progress, cancellationToken, (batch, states, members) => Heads(batch, states, members, pooling, options.Normalize, result));
        var finished = Finish(result, encodings.Length);
        return options.Dimensions is { } dimensions && dimensions != Dimension && finished.Dense is { } dense
            ? finished with { Dense = Compression.Matryoshka.Truncate(dense, dimensions, options.Normalize) }
            : finished;
    }

    /// <summary>
    /// <see cref="EncodeOutputs(IReadOnlyList{string}, EncoderOutputs, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/>
    /// over a stream of texts, lazily, a chunk at a time: each chunk holds up to eight batches of texts and, when ColBERT
    /// vectors are asked for, no more tokens than one batch may hold (<see cref="EncodeOptions.TokensPerBatchSlot"/> per
    /// slot), so memory stays bounded by the batch size however many texts there are and however long (8,192-token
    /// inputs give 8,191 vectors each). Chunks come in input order; their rows concatenated are the texts' outputs.
    /// </summary>
    /// <param name="texts">The texts; enumerated once, as the chunks are consumed.</param>
    /// <param name="outputs">Which outputs; each must be in <see cref="AvailableOutputs"/>.</param>
    /// <param name="options">Pooling and normalization (of the dense output), truncation and batch size.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    /// <exception cref="ArgumentException">An output asked for is not one this model has, or none is asked for.</exception>
    public IEnumerable<EncodeResult> EncodeOutputsStream(IEnumerable<string> texts, EncoderOutputs outputs, EncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckOutputs(outputs);
        var maxLength = CheckOptions(options ??= new EncodeOptions());
        var tokenBudget = outputs.HasFlag(EncoderOutputs.ColBert) ? (long)options.BatchSize * EncodeOptions.TokensPerBatchSlot : long.MaxValue;
        return Stream();

        IEnumerable<EncodeResult> Stream()
        {
            var chunk = new List<Encoding>(options.BatchSize * 8);
            long tokens = 0;
            foreach (var text in texts)
            {
                var encoding = Tokenizer.Encode(text ?? throw new ArgumentNullException(nameof(texts), "a text is null"), maxLength);
                if (chunk.Count > 0 && tokens + encoding.Length > tokenBudget)
                {
                    yield return Flush();
                }

                chunk.Add(encoding);
                tokens += encoding.Length;
                if (chunk.Count == chunk.Capacity)
                {
                    yield return Flush();
                }
            }

            if (chunk.Count > 0)
            {
                yield return Flush();
            }

            EncodeResult Flush()
            {
                var result = EncodeTokenized([.. chunk], outputs, options, null, cancellationToken);
                chunk.Clear();
                tokens = 0;
                return result;
            }
        }
    }

    /// <summary>
    /// The outputs asked for of an already tokenized batch, from one forward pass over its packed tokens: row <c>b</c>
    /// of each is sequence <c>b</c>'s, the same bits
    /// <see cref="EncodeOutputs(IReadOnlyList{string}, EncoderOutputs, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/>
    /// gives for its text. A sequence's outputs do not depend on the others in the batch, so a server that gathers
    /// texts from several requests into one batch answers each as it would alone.
    /// </summary>
    /// <param name="batch">The tokenized sequences.</param>
    /// <param name="outputs">Which outputs; each must be in <see cref="AvailableOutputs"/>.</param>
    /// <param name="pooling">The dense output's pooling; the trained pooling when null.</param>
    /// <param name="normalize">Whether the dense output is L2-normalized.</param>
    /// <exception cref="ArgumentException">An output asked for is not one this model has, or none is asked for; a sequence is longer than the model's positions or holds an id outside its vocabulary.</exception>
    public EncodeResult EncodeBatchOutputs(TokenBatch batch, EncoderOutputs outputs, PoolingMode? pooling = null, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CheckOutputs(outputs);
        var result = NewResult(outputs, batch.Count);
        if (batch.Count > 0)
        {
            var pool = Poolings.For(pooling ?? TrainedPooling, Model.Simd);
            Forward(batch, states => Heads(batch, states, rowOf: null, pool, normalize, result));
        }

        return Finish(result, batch.Count);
    }

    // The options' batch size and length checked; the length inputs are cut to.
    private int CheckOptions(EncodeOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        var maxLength = options.MaxLength ?? MaxLength;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, Model.Config.MaxSequenceLength, nameof(options));
        if (options.Dimensions is { } dimensions)
        {
            Compression.Matryoshka.Check(dimensions, Dimension);
        }

        return maxLength;
    }

    private void CheckOutputs(EncoderOutputs outputs)
    {
        if (outputs == EncoderOutputs.None || (outputs & ~AvailableOutputs) != 0)
        {
            throw new ArgumentException($"{Name} gives {AvailableOutputs}; {outputs} was asked for (sparse and ColBERT outputs need bge-m3's {SparseLexical.FileName} and {ColBert.FileName} in the model directory)", nameof(outputs));
        }
    }

    private (float[]? Dense, SparseVector[]? Sparse, MultiVector[]? ColBert) NewResult(EncoderOutputs outputs, int count) => (
        outputs.HasFlag(EncoderOutputs.Dense) ? new float[count * Dimension] : null,
        outputs.HasFlag(EncoderOutputs.Sparse) ? new SparseVector[count] : null,
        outputs.HasFlag(EncoderOutputs.ColBert) ? new MultiVector[count] : null);

    private EncodeResult Finish((float[]? Dense, SparseVector[]? Sparse, MultiVector[]? ColBert) result, int count) =>
        new(result.Dense is null ? null : new EmbeddingMatrix(result.Dense, count, Dimension), result.Sparse, result.ColBert);

    // The heads asked for (those whose arrays are not null) on one pass's states, sequence b into row rowOf[b] (b when null).
    private void Heads(TokenBatch batch, HiddenStates states, int[]? rowOf, IPooling pooling, bool normalize, (float[]? Dense, SparseVector[]? Sparse, MultiVector[]? ColBert) result)
    {
        if (result.Dense is not null)
        {
            Pool(states, pooling, normalize, result.Dense, rowOf);
        }

        for (var b = 0; b < batch.Count; b++)
        {
            var row = rowOf?[b] ?? b;
            if (result.Sparse is not null)
            {
                result.Sparse[row] = _sparse!.Forward(states, b, batch.Encodings[b].Ids);
            }

            if (result.ColBert is not null)
            {
                result.ColBert[row] = _colbert!.Forward(states, b);
            }
        }
    }

    // The encodings in length-planned batches, one forward pass each, its states handed to heads with the inputs' indexes.
    private void RunBatches(Encoding[] encodings, int batchSize, IProgress<EncodeProgress>? progress, CancellationToken cancellationToken, Action<TokenBatch, HiddenStates, int[]> heads)
    {
        var done = 0;
        foreach (var members in LengthBatches.Plan(encodings, batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = new TokenBatch(members.Select(i => encodings[i]).ToList());
            Forward(batch, states => heads(batch, states, members));
            done += members.Length;
            progress?.Report(new EncodeProgress(done, encodings.Length));
        }
    }

    /// <summary>
    /// Embeds an already tokenized batch in one forward pass over its packed tokens: row <c>b</c> is sequence
    /// <c>b</c>, pooled (the trained pooling unless <paramref name="pooling"/> says otherwise) and, when
    /// <paramref name="normalize"/>, L2-normalized. A sequence's row does not depend on the others in the batch, so
    /// a server that gathers texts from several requests into one batch answers each exactly as
    /// <see cref="Encode(string, EncodeOptions?)"/> would.
    /// </summary>
    /// <exception cref="ArgumentException">A sequence is longer than the model's positions or holds an id outside its vocabulary.</exception>
    public EmbeddingMatrix EncodeBatch(TokenBatch batch, PoolingMode? pooling = null, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return new EmbeddingMatrix([], 0, Dimension);
        }

        var result = new float[batch.Count * Dimension];
        Forward(batch, states => Pool(states, Poolings.For(pooling ?? TrainedPooling, Model.Simd), normalize, result, rowOf: null));
        return new EmbeddingMatrix(result, batch.Count, Dimension);
    }

    // One forward pass, its hidden states given to the heads.
    private void Forward(TokenBatch batch, Action<HiddenStates> heads) =>
        Model.Forward(batch, Options.DegreeOfParallelism, states =>
        {
            heads(states);
            return true;
        });

    // Sequence b pooled (and normalized) into row rowOf[b] of result (row b when null).
    private void Pool(HiddenStates states, IPooling pooling, bool normalize, float[] result, int[]? rowOf)
    {
        for (var b = 0; b < states.Count; b++)
        {
            var row = result.AsSpan((rowOf?[b] ?? b) * Dimension, Dimension);
            pooling.Pool(states, b, row);
            if (normalize)
            {
                L2Normalize.InPlace(row, Model.Simd);
            }
        }
    }

    /// <summary>
    /// Embeds a stream of texts of any length, lazily: texts are read and embedded a chunk at a time (eight
    /// batches), so memory stays flat however many there are. Yields one embedding per text, in input order.
    /// </summary>
    /// <param name="texts">The texts; enumerated once, as the results are consumed.</param>
    /// <param name="options">Pooling, normalization, truncation and batch size.</param>
    /// <param name="cancellationToken">Checked before each batch.</param>
    public IEnumerable<float[]> EncodeStream(IEnumerable<string> texts, EncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new EncodeOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        return Stream();

        IEnumerable<float[]> Stream()
        {
            var chunk = new List<string>(options.BatchSize * 8);
            foreach (var text in texts)
            {
                chunk.Add(text);
                if (chunk.Count == chunk.Capacity)
                {
                    foreach (var row in Flush(chunk))
                    {
                        yield return row;
                    }
                }
            }

            foreach (var row in Flush(chunk))
            {
                yield return row;
            }
        }

        IEnumerable<float[]> Flush(List<string> chunk)
        {
            if (chunk.Count == 0)
            {
                return [];
            }

            var matrix = Encode(chunk, options, null, cancellationToken);
            chunk.Clear();
            return Enumerable.Range(0, matrix.Rows).Select(matrix.RowArray);
        }
    }

    /// <summary>Embeds retrieval queries: the model's query instruction (if any) is prepended to each.</summary>
    /// <inheritdoc cref="Encode(IReadOnlyList{string}, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/>
    public EmbeddingMatrix EncodeQueries(IReadOnlyList<string> queries, EncodeOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return Encode(QueryInstruction is null ? queries : queries.Select(q => QueryInstruction + q).ToList(), options, progress, cancellationToken);
    }

    /// <summary>Embeds documents to be retrieved (no instruction).</summary>
    /// <inheritdoc cref="Encode(IReadOnlyList{string}, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/>
    public EmbeddingMatrix EncodeCorpus(IReadOnlyList<string> passages, EncodeOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Encode(passages, options, progress, cancellationToken);

    /// <summary>The score matrix <c>a · bᵀ</c>: cosine similarities when both are normalized.</summary>
    /// <exception cref="ArgumentException">The matrices' dimensions differ.</exception>
    public static EmbeddingMatrix Similarity(EmbeddingMatrix a, EmbeddingMatrix b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Columns != b.Columns)
        {
            throw new ArgumentException($"dimensions differ: {a.Columns} and {b.Columns}", nameof(b));
        }

        var scores = new float[a.Rows * b.Rows];
        for (var i = 0; i < a.Rows; i++)
        {
            for (var j = 0; j < b.Rows; j++)
            {
                scores[(i * b.Rows) + j] = TensorPrimitives.Dot(a.Row(i), b.Row(j));
            }
        }

        return new EmbeddingMatrix(scores, a.Rows, b.Rows);
    }
}
