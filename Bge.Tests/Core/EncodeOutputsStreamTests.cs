using Bge.Core;

namespace Bge.Tests.Core;

/// <summary>
/// Embedder.EncodeOutputsStream: the same outputs as EncodeOutputs, bit for bit, in chunks that keep ColBERT output
/// bounded: no chunk holds more tokens than one batch may, so 8,192-token inputs go one or two at a time.
/// </summary>
public sealed class EncodeOutputsStreamTests
{
    private static readonly EncoderOutputs All = EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert;

    [Test]
    public void ChunksConcatenatedAreTheWholeListsOutputsAndKeepToOneBatchOfTokens()
    {
        var embedder = Embedder.Load(RerankEvaluationTests.TinyEmbedder);
        var words = "retrieval with three kinds of vectors from one pass of the encoder".Split(' ');
        string Text(int wordCount) => string.Join(' ', Enumerable.Range(0, wordCount).Select(i => words[i % words.Length]));
        // Two inputs cut at 8,192 tokens among short ones.
        var texts = new[] { Text(3), Text(9000), Text(40), "", Text(700), Text(12000), Text(5) };
        var options = new EncodeOptions { BatchSize = 2 };
        var whole = embedder.EncodeOutputs(texts, All, options);
        var chunks = embedder.EncodeOutputsStream(texts, All, options).ToList();

        var lengths = texts.Select(t => embedder.Tokenizer.Encode(t, embedder.MaxLength).Length).ToArray();
        Assert.That(lengths.Max(), Is.EqualTo(8192));
        var first = 0;
        foreach (var chunk in chunks)
        {
            var rows = chunk.ColBert!.Length;
            var tokens = lengths.Skip(first).Take(rows).Sum();
            Assert.That(rows == 1 || tokens <= 2 * EncodeOptions.TokensPerBatchSlot, $"chunk from text {first}: {rows} texts, {tokens} tokens");
            for (var r = 0; r < rows; r++)
            {
                Assert.That(chunk.Dense!.RowArray(r), Is.EqualTo(whole.Dense!.RowArray(first + r)));
                Assert.That(chunk.Sparse![r].Ids, Is.EqualTo(whole.Sparse![first + r].Ids));
                Assert.That(chunk.Sparse[r].Weights, Is.EqualTo(whole.Sparse[first + r].Weights));
                Assert.That(chunk.ColBert[r].Data, Is.EqualTo(whole.ColBert![first + r].Data));
            }

            first += rows;
        }

        Assert.That(first, Is.EqualTo(texts.Length));
        Assert.That(chunks, Has.Count.GreaterThanOrEqualTo(4));

        // Without ColBERT, chunks of eight batches.
        Assert.That(embedder.EncodeOutputsStream(texts, EncoderOutputs.Sparse, options).Count(), Is.EqualTo(1));
        Assert.Throws<ArgumentException>(() => embedder.EncodeOutputsStream(texts, EncoderOutputs.None));
    }
}
