using Bge.Tokenizer;

namespace Bge.Core;

/// <summary>
/// How a list of tokenized inputs is cut into forward passes: longest first, as FlagEmbedding does, so each batch
/// holds inputs of similar length, and each batch up to a number of inputs and no more tokens than that many
/// 512-token inputs would hold, so long inputs (8,192 tokens each) go a few at a time.
/// </summary>
internal static class LengthBatches
{
    /// <summary>The batches in order, each the indexes of its inputs.</summary>
    public static IEnumerable<int[]> Plan(IReadOnlyList<Encoding> encodings, int batchSize)
    {
        var order = Enumerable.Range(0, encodings.Count).OrderByDescending(i => encodings[i].Length).ThenBy(i => i).ToArray();
        var tokenBudget = (long)batchSize * EncodeOptions.TokensPerBatchSlot;
        for (var first = 0; first < order.Length;)
        {
            var count = 1;
            for (long tokens = encodings[order[first]].Length; count < batchSize && first + count < order.Length
                && tokens + encodings[order[first + count]].Length <= tokenBudget; count++)
            {
                tokens += encodings[order[first + count]].Length;
            }

            yield return order.AsSpan(first, count).ToArray();
            first += count;
        }
    }
}
