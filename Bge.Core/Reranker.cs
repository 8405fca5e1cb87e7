using System.Diagnostics;
using Bge.Core.Heads;
using Bge.Core.Model;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.Heads;

namespace Bge.Core;

/// <summary>
/// A cross-encoder: a (query, passage) pair in, a relevance logit out, as sentence-transformers' CrossEncoder and
/// FlagEmbedding's FlagReranker compute it: the pair encoded as Hugging Face encodes it (<c>[CLS] q [SEP] p [SEP]</c>
/// for BERT, <c>&lt;s&gt; q &lt;/s&gt;&lt;/s&gt; p &lt;/s&gt;</c> for XLM-R) → <see cref="Encoder"/> → the model's
/// sequence-classification head. Pairs are sorted by length and packed into batches as the <see cref="Embedder"/>
/// packs texts; results come back in input order. One instance may be used by many threads at once.
/// </summary>
public sealed class Reranker
{
    private readonly SequenceClassifier _head;

    private Reranker(Encoder model, SequenceClassifier head, Tokenizer.Tokenizer tokenizer, SequenceClassification classification, EmbedderOptions options, string name)
    {
        Model = model;
        _head = head;
        Tokenizer = tokenizer;
        Architecture = classification.Architecture;
        Labels = classification.Labels;
        Options = options;
        Name = name;
    }

    /// <summary>The model's name: its Hub id for a Hub-cache snapshot, else its directory's name.</summary>
    public string Name { get; }

    /// <summary>The encoder under the head.</summary>
    public Encoder Model { get; }

    /// <summary>The tokenizer, which encodes the pairs.</summary>
    public Tokenizer.Tokenizer Tokenizer { get; }

    /// <summary>config.json's architecture, e.g. <c>XLMRobertaForSequenceClassification</c>.</summary>
    public string Architecture { get; }

    /// <summary>The label names by id (<c>id2label</c>); a reranker has one, its logit the relevance.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Threads, SIMD width and precision.</summary>
    public EmbedderOptions Options { get; }

    /// <summary>The longest pair in tokens when a call does not say: the tokenizer's maximum within the encoder's positions.</summary>
    public int MaxLength => Math.Min(Tokenizer.MaxLength, Model.Config.MaxSequenceLength);

    /// <summary>Loads a cross-encoder's model directory (config.json naming a <c>*ForSequenceClassification</c> architecture).</summary>
    /// <param name="modelDirectory">The directory, in Hub layout.</param>
    /// <param name="options">Threads, SIMD width and precision (the head stays fp32).</param>
    /// <exception cref="ModelFormatException">A file is missing or malformed; the model has no classification head (an embedding model) or one of an architecture the engine does not run.</exception>
    /// <exception cref="TokenizerFormatException">The tokenizer files are malformed.</exception>
    public static Reranker Load(string modelDirectory, EmbedderOptions? options = null)
    {
        var directory = ModelDirectory.Open(modelDirectory);
        var classification = directory.Classification ?? throw new ModelFormatException(
            Path.Combine(modelDirectory, "config.json"),
            $"'{directory.Name}' is an embedding model (architectures names no *ForSequenceClassification head); a reranker needs a cross-encoder such as BAAI/bge-reranker-base");
        options ??= new EmbedderOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DegreeOfParallelism, 1, nameof(options));
        Encoder model;
        SequenceClassifier head;
        using (var weights = directory.OpenWeights())
        {
            model = Encoder.Load(weights, options.Simd, options.Precision);
            head = SequenceClassifier.Load(weights, classification, model.Simd);
        }

        var tokenizer = Bge.Tokenizer.Tokenizer.FromDirectory(modelDirectory, directory.ModelMaxLength);
        if (tokenizer.VocabularySize > model.Config.VocabSize)
        {
            throw new ModelFormatException(modelDirectory, $"the vocabulary has {tokenizer.VocabularySize} tokens but the model's embedding table only {model.Config.VocabSize}");
        }

        return new Reranker(model, head, tokenizer, classification, options, directory.Name);
    }

    /// <summary>The logistic function, <c>1 / (1 + e^-x)</c>: a logit as a score in (0, 1).</summary>
    public static float Sigmoid(float logit) => 1f / (1f + MathF.Exp(-logit));

    /// <summary>The relevance logit of one pair.</summary>
    /// <exception cref="InvalidOperationException">The model has more than one label (use <see cref="Logits"/>).</exception>
    public float Score(string query, string passage, RerankOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passage);
        return Score([(query, passage)], options)[0];
    }

    /// <summary>The relevance logit of <paramref name="query"/> with each passage, in input order.</summary>
    /// <inheritdoc cref="Logits"/>
    /// <exception cref="InvalidOperationException">The model has more than one label (use <see cref="Logits"/>).</exception>
    public float[] Score(string query, IReadOnlyList<string> passages, RerankOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passages);
        return Score(passages.Select(p => (query, p ?? throw new ArgumentNullException(nameof(passages), "a passage is null"))).ToList(), options, progress, cancellationToken);
    }

    /// <summary>The relevance logit of each (query, passage) pair, in input order.</summary>
    /// <inheritdoc cref="Logits"/>
    /// <exception cref="InvalidOperationException">The model has more than one label (use <see cref="Logits"/>).</exception>
    public float[] Score(IReadOnlyList<(string Query, string Passage)> pairs, RerankOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Labels.Count != 1)
        {
            throw new InvalidOperationException($"{Name} has {Labels.Count} labels ({string.Join(", ", Labels)}), not one relevance logit; read them with Logits");
        }

        return Logits(pairs, options, progress, cancellationToken).Select(row => row[0]).ToArray();
    }

    /// <summary>
    /// Ranks passages for a query: the <paramref name="topK"/> best (all when null), most relevant first, ties in input order.
    /// </summary>
    /// <inheritdoc cref="Logits"/>
    /// <exception cref="InvalidOperationException">The model has more than one label.</exception>
    public IReadOnlyList<RerankResult> Rank(string query, IReadOnlyList<string> passages, int? topK = null, RerankOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (topK is { } k)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(k, 1, nameof(topK));
        }

        var logits = Score(query, passages, options, progress, cancellationToken);
        return Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i)
            .Take(topK ?? logits.Length).Select(i => new RerankResult(i, logits[i])).ToList();
    }

    /// <summary>Every label's logit for each pair, in input order: row <c>i</c> holds <see cref="Labels"/>.Count values.</summary>
    /// <param name="pairs">The (query, passage) pairs; an empty text is scored as Hugging Face scores it.</param>
    /// <param name="options">Truncation, length limit and batch size.</param>
    /// <param name="progress">Told after each forward pass how many pairs are done.</param>
    /// <param name="cancellationToken">Checked before each forward pass.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="TruncationException">With <see cref="TruncationStrategy.OnlySecond"/>, a query alone leaves its passage no room.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public float[][] Logits(IReadOnlyList<(string Query, string Passage)> pairs, RerankOptions? options = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        options ??= new RerankOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        var maxLength = options.MaxLength ?? MaxLength;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLength, Model.Config.MaxSequenceLength, nameof(options));
        var encodings = new Encoding[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
        {
            var (query, passage) = pairs[i];
            encodings[i] = Tokenizer.EncodePair(
                query ?? throw new ArgumentNullException(nameof(pairs), $"pair {i}: the query is null"),
                passage ?? throw new ArgumentNullException(nameof(pairs), $"pair {i}: the passage is null"),
                maxLength,
                options.Truncation);
        }

        var result = new float[pairs.Count][];
        var done = 0;
        foreach (var members in LengthBatches.Plan(encodings, options.BatchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = ScoreBatch(new TokenBatch(members.Select(i => encodings[i]).ToList()));
            for (var b = 0; b < members.Length; b++)
            {
                result[members[b]] = rows[b];
            }

            done += members.Length;
            progress?.Report(new EncodeProgress(done, pairs.Count));
        }

        return result;
    }

    /// <summary>
    /// Scores already encoded pairs (<see cref="Tokenizer.Tokenizer.EncodePair"/>) in one forward pass over their packed
    /// tokens: row <c>b</c> holds sequence <c>b</c>'s logits. A row does not depend on the other sequences in the batch,
    /// so a server that gathers pairs from several requests answers each exactly as <see cref="Logits"/> would.
    /// </summary>
    /// <exception cref="ArgumentException">A sequence is longer than the model's positions or holds an id outside its vocabulary.</exception>
    public float[][] ScoreBatch(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return [];
        }

        return Model.Forward(batch, Options.DegreeOfParallelism, states =>
        {
            var logits = new float[batch.Count * _head.Labels];
            _head.Forward(states, logits);
            Debug.Assert(logits.Length == batch.Count * Labels.Count, "the head's width is the label count");
            return Enumerable.Range(0, batch.Count).Select(b => logits.AsSpan(b * _head.Labels, _head.Labels).ToArray()).ToArray();
        });
    }
}
