using System.Diagnostics;
using System.Text;
using Bge.Tokenizer;
using Bge.Tokenizer.Models;

namespace Bge.Tests.Tokenizer;

using Tokenizer = Bge.Tokenizer.Tokenizer;

public sealed class TokenizerBehaviourTests
{
    private static readonly Lazy<Tokenizer> Shared = new(() => Tokenizer.FromDirectory(TestPaths.Arctic));

    private static Tokenizer Bert => Shared.Value;

    private static string RandomText(Random random, int length)
    {
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            switch (random.Next(6))
            {
                case 0: builder.Append((char)random.Next(0x20, 0x7F)); break;
                case 1: builder.Append((char)random.Next(0, 0x20)); break;
                case 2: builder.Append((char)random.Next(0xD800, 0xE000)); break; // lone surrogates too
                case 3: builder.Append(char.ConvertFromUtf32(random.Next(0x10000, 0x10FFFF) is var cp && cp is >= 0xD800 and < 0xE000 ? 0x1F600 : cp)); break;
                case 4: builder.Append(" \t\n\u00A0\u3000[CLS][SEP][MASK]"[random.Next(17)]); break;
                default: builder.Append((char)random.Next(0x80, 0xD800)); break;
            }
        }

        return builder.ToString();
    }

    [Test]
    public void RandomUnicodeNeverThrowsAndKeepsTheInvariants()
    {
        var random = new Random(1234);
        for (var i = 0; i < 3000; i++)
        {
            var text = RandomText(random, random.Next(0, 300));
            var maxLength = random.Next(3, 80);
            var encoding = Bert.Encode(text, maxLength);
            Assert.That(encoding.Ids[0], Is.EqualTo(Id("[CLS]")));
            Assert.That(encoding.Ids[^1], Is.EqualTo(Id("[SEP]")));
            Assert.That(encoding.Length, Is.LessThanOrEqualTo(maxLength));
            Assert.That(encoding.Ids, Has.All.InRange(0, Bert.VocabularySize - 1));
            Assert.That(encoding.Offsets.Skip(1).SkipLast(1), Has.All.Matches<(int Start, int End)>(o => o.Start >= 0 && o.Start < o.End && o.End <= text.Length));
            var full = Bert.Encode(text, 100_000);
            Assert.That(encoding.Ids[..^1], Is.EqualTo(full.Ids.Take(encoding.Length - 1)), "early stop gives the prefix of the full tokenization");
            Assert.That(encoding.Truncated, Is.EqualTo(full.Length > maxLength));
        }
    }

    [Test]
    public void PlainAsciiWordsDecodeToTheLowercasedWords()
    {
        var random = new Random(5);
        for (var i = 0; i < 300; i++)
        {
            var words = Enumerable.Range(0, random.Next(1, 12))
                .Select(_ => new string(Enumerable.Range(0, random.Next(1, 15)).Select(_ => (char)(random.Next(2) == 0 ? random.Next('a', 'z' + 1) : random.Next('A', 'Z' + 1))).ToArray()))
                .ToList();
            var ids = Bert.Encode(string.Join(' ', words)).Ids;
            Assert.That(Bert.Decode(ids), Is.EqualTo(string.Join(' ', words).ToLowerInvariant()));
        }
    }

    [Test]
    public void OffsetsPointAtTheOriginalText()
    {
        const string text = "Héllo, WORLD! [SEP] embeddings";
        var encoding = Bert.Encode(text);
        var pieces = encoding.Offsets.Skip(1).SkipLast(1).Select(o => text[o.Start..o.End]).ToList();
        Assert.That(pieces, Is.EqualTo(new[] { "Héllo", ",", "WORLD", "!", "[SEP]", "em", "bed", "ding", "s" }));
        Assert.That(encoding.Offsets[0], Is.EqualTo((0, 0)));
    }

    [Test]
    public void SpecialTokenTextIsMatchedCaseSensitivelyBeforeNormalizing()
    {
                Assert.That(Bert.Encode("a[MASK]b").Ids, Is.EqualTo(new[] { Id("[CLS]"), Id("a"), Id("[MASK]"), Id("b"), Id("[SEP]") }));
        Assert.That(Bert.Encode("[mask]").Ids, Is.EqualTo(new[] { Id("[CLS]"), Id("["), Id("mask"), Id("]"), Id("[SEP]") }));
    }

    private static int Id(string token) => Bert.TokenToId(token) ?? throw new KeyNotFoundException(token);

    // Hugging Face's own truncation cases (tokenizers/src/utils/truncation.rs), budget 7.
    [TestCase(0, 8, 0, 7)]
    [TestCase(2, 8, 2, 5)]
    [TestCase(4, 4, 3, 4)]
    [TestCase(4, 8, 3, 4)]
    [TestCase(8, 2, 5, 2)]
    [TestCase(8, 4, 4, 3)]
    [TestCase(8, 8, 3, 4)]
    [TestCase(2, 4, 2, 4)]
    public void PairsUseLongestFirstTruncation(int n1, int n2, int e1, int e2) =>
        Assert.That(Tokenizer.LongestFirst(n1, n2, 7), Is.EqualTo((e1, e2)));

    [Test]
    public void PairsGetTypeIdsAndSeparators()
    {
        var encoding = Bert.EncodePair("I love nlp", "embedding");
                Assert.That(encoding.Ids, Is.EqualTo(new[] { Id("[CLS]"), 1045, 2293, 17953, 2361, Id("[SEP]"), 7861, 8270, 4667, Id("[SEP]") }));
        Assert.That(encoding.TypeIds, Is.EqualTo(new[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1 }));
        var cut = Bert.EncodePair(string.Join(' ', Enumerable.Repeat("word", 400)), string.Join(' ', Enumerable.Repeat("word", 300)));
        Assert.That(cut.Length, Is.EqualTo(512));
        // Budget 509: both sides exceed half, so the first (longer) side gets 255 and the second 254, plus its [SEP].
        Assert.That(cut.TypeIds.Count(t => t == 1), Is.EqualTo(254 + 1));
        Assert.That(cut.Ids[256], Is.EqualTo(Id("[SEP]")));
    }

    [Test]
    public void BatchesPackAndPad()
    {
        var batch = Bert.EncodeBatch(["embedding", "I love machine learning and nlp", ""]);
        Assert.That(batch.SequenceStarts, Is.EqualTo(new[] { 0, 5, 14, 16 }));
        var padded = batch.ToPadded(Padding.Longest, Bert.PadId);
        Assert.That((padded.BatchSize, padded.SequenceLength), Is.EqualTo((3, 9)));
        Assert.That(padded.InputIds[..9], Is.EqualTo(new[] { 101, 7861, 8270, 4667, 102, 0, 0, 0, 0 }));
        Assert.That(padded.AttentionMask[18..], Is.EqualTo(new[] { 1, 1, 0, 0, 0, 0, 0, 0, 0 }));
        var fixedPad = batch.ToPadded(Padding.Fixed, 0, 16);
        Assert.That(fixedPad.InputIds, Has.Length.EqualTo(48));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ToPadded(Padding.Fixed, 0, 4));
    }

    [Test]
    public void LongInputStopsEarlyAndHugeWordsStayBounded()
    {
        var megabyte = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 1_000_000 / 45));
        var watch = Stopwatch.StartNew();
        var encoding = Bert.Encode(megabyte);
        Assert.That(encoding.Length, Is.EqualTo(512));
        Assert.That(encoding.Truncated, Is.True);
        var pieces = Bert.Tokenize(megabyte);
        Assert.That(pieces, Has.Count.EqualTo(10 * (1_000_000 / 45)));
        Assert.That(Bert.Encode(new string('a', 5_000_000)).Ids, Is.EqualTo(new[] { 101, Id("[UNK]"), 102 }));
        TestContext.Out.WriteLine($"1 MB text: {watch.ElapsedMilliseconds} ms for one truncated encode, one full tokenize and a 5M-char word");
    }

    [TestCase("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n")]
    [TestCase("\uFEFF[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello")]
    public void VocabularyReadsCrlfLfAndBom(string text)
    {
        var tokenizer = Tokenizer.WordPieceTokenizer(WordPieceVocabulary.Parse(System.Text.Encoding.UTF8.GetBytes(text), "vocab.txt"), true, 512, "vocab.txt");
        Assert.That(tokenizer.VocabularySize, Is.EqualTo(5));
        Assert.That(tokenizer.TokenToId("hello"), Is.EqualTo(4));
        Assert.That(tokenizer.PadId, Is.EqualTo(0));
    }

    [Test]
    public void AVocabularyWithoutClsIsRefused()
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.WordPieceTokenizer(WordPieceVocabulary.Parse("[PAD]\n[UNK]\n[SEP]\n"u8, "v.txt"), true, 512, "v.txt"));
        Assert.That(error!.Message, Does.Contain("[CLS]").And.Contain("v.txt"));
    }

    [Test]
    public void CasedTokenizerJsonIsHonoured()
    {
        var dir = Directory.CreateTempSubdirectory("bge-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """
                {"normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": false},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                           "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "Hello": 4, "hello": 5, "##s": 6, "é": 7}},
                 "pre_tokenizer": {"type": "BertPreTokenizer"},
                 "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}}
                """);
            var cased = Tokenizer.FromDirectory(dir);
            Assert.That(cased.Encode("Hello hellos é").Ids, Is.EqualTo(new[] { 2, 4, 5, 6, 7, 3 }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
