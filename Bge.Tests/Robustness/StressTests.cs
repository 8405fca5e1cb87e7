using Bge.Core;
using Bge.Tests.Core;
using Bge.Tokenizer;

namespace Bge.Tests.Robustness;

/// <summary>One embedder shared by many threads, streams, huge texts, and model folders that are consistent but wrong.</summary>
public sealed class StressTests
{
    private static Embedder Arctic => GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");

    private static readonly string[] Texts =
    [
        "", "a", "I love machine learning and nlp", "Déjà vu: 東京 is the capital of Japan 🙂",
        "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.",
        string.Join(' ', Enumerable.Repeat("A longer sentence repeated to make a longer sequence.", 6)),
        "[CLS] [SEP] [PAD] [MASK] [UNK]", "\u0000\u200b\ud800 lone surrogate", "email me at a.b@example.com!!!",
        "embedding", "semantic search with dense vectors", "Ünïcödé àccents are stripped for uncased models",
    ];

    [Test]
    [CancelAfter(300_000)]
    public void EightThreadsTimesAThousandEncodesGiveTheSequentialResults()
    {
        var embedder = Arctic;
        var expected = Texts.Select(t => embedder.Encode(t)).ToArray();
        var failures = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            for (var i = 0; i < 1000; i++)
            {
                // Mostly single texts, some small batches, so calls of different shapes overlap.
                var count = i % 10 == 0 ? 3 : 1;
                var picks = Enumerable.Range(0, count).Select(_ => random.Next(Texts.Length)).ToArray();
                var result = embedder.Encode(picks.Select(p => Texts[p]).ToList());
                for (var r = 0; r < count; r++)
                {
                    if (!result.Row(r).SequenceEqual(expected[picks[r]]))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        TestContext.Out.WriteLine($"8 threads × 1,000 encode calls (1 text, every tenth 3) in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Zero, "every result equals the sequential one, bit for bit");
    }

    [Test]
    public void StreamingGivesTheSameVectorsInOrderAndReadsLazily()
    {
        var texts = Enumerable.Range(0, 300).Select(i => Texts[i % Texts.Length] + " " + i).ToList();
        var streamed = Arctic.EncodeStream(texts, new EncodeOptions { BatchSize = 16 }).ToList();
        var whole = Arctic.Encode(texts);
        Assert.That(streamed, Has.Count.EqualTo(300));
        for (var i = 0; i < texts.Count; i++)
        {
            Assert.That(streamed[i], Is.EqualTo(whole.RowArray(i)).Within(1e-6), $"text {i}");
        }

        var read = 0;
        IEnumerable<string> Endless()
        {
            for (var i = 0; ; i++)
            {
                read++;
                yield return "text " + i;
            }
        }

        Assert.That(Arctic.EncodeStream(Endless(), new EncodeOptions { BatchSize = 4 }).Take(5).Count(), Is.EqualTo(5));
        Assert.That(read, Is.EqualTo(32), "one chunk of eight batches was read, no more");
    }

    [Test]
    public void ATenMegabyteTextIsTruncatedAndItsTailIsNeverLookedAt()
    {
        var head = string.Join(' ', Enumerable.Repeat("retrieval augmented generation needs embeddings", 200));
        var huge = head + string.Concat(Enumerable.Repeat(" tail words that the truncation cuts away", 10_000_000 / 40));
        Assert.That(huge.Length, Is.GreaterThan(10_000_000));
        var encoding = Arctic.Tokenizer.Encode(huge);
        Assert.That((encoding.Length, encoding.Truncated), Is.EqualTo((512, true)));
        Assert.That(Arctic.Encode(huge), Is.EqualTo(Arctic.Encode(head)), "only the first 512 tokens count");
    }

    [Test]
    public void AVocabularyWithoutItsSpecialTokensIsRefusedAtLoad()
    {
        var directory = Path.Combine(Path.GetTempPath(), "bge-badvocab-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var file in Directory.GetFiles(TestPaths.Arctic, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(directory, Path.GetRelativePath(TestPaths.Arctic, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            var vocab = Path.Combine(directory, "vocab.txt");
            File.WriteAllLines(vocab, File.ReadAllLines(vocab).Select(l => l == "[SEP]" ? "[unused-sep]" : l));
            var e = Assert.Throws<TokenizerFormatException>(() => Embedder.Load(directory));
            Assert.That(e!.Message, Does.Contain("[SEP]").And.Contain("vocab.txt"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
