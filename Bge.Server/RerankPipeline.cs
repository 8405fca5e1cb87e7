using Bge.Core;
using Bge.Tokenizer;

namespace Bge.Server;

/// <summary>
/// The path both rerank routes share: the query paired with each text and encoded as Hugging Face encodes a pair
/// (<see cref="Bge.Tokenizer.Tokenizer.EncodePair"/>, longest_first at the reranker's maximum length when truncation is asked; a
/// longer pair is otherwise refused naming its token count), admitted and queued (<see cref="Admission"/>), one
/// relevance logit back per text. The logits are <see cref="Reranker.ScoreBatch"/>'s, whatever the batch.
/// </summary>
internal sealed class RerankPipeline(Reranker reranker, BatchScheduler<float[]> scheduler, Admission admission)
{
    public Reranker Reranker => reranker;

    /// <summary>Tokens one pair may hold, the specials included.</summary>
    public int MaxInputLength { get; } = reranker.MaxLength;

    /// <summary>Each text's logit with the query, in input order (<see cref="Computed{T}.Rows"/> holds one value each).</summary>
    public Task<Computed<float[]>> Score(string query, IReadOnlyList<string> texts, bool truncate, string field, CancellationToken aborted) =>
        admission.Run(texts.Count, field, i => Tokenize(query, texts[i], truncate, $"{field}[{i}]"), scheduler, EncoderOutputs.None, aborted);

    private Encoding Tokenize(string query, string text, bool truncate, string field)
    {
        var encoding = reranker.Tokenizer.EncodePair(query, text, MaxInputLength);
        if (encoding.Truncated && !truncate)
        {
            // Counted only to say how long it is; a truncated request never tokenizes past the limit.
            var tokens = reranker.Tokenizer.EncodePair(query, text, int.MaxValue).Length;
            throw ApiException.TooLong($"'{field}' paired with the query", field, tokens, MaxInputLength);
        }

        return encoding;
    }
}
