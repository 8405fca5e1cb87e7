using System.Text.Json;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Core.Pooling;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Tests.Core;

/// <summary>
/// The XLM-R encoder against ../shared/golden/models/xlmr-m3-tiny.expected.json: random weights in bge-m3's layout
/// (8,194 positions, one token type, pad 1, eps 1e-5, no prefix), outputs computed independently in float64. The
/// records carry Hugging Face's ids, so these tests say nothing about the tokenizer.
/// </summary>
public sealed class XlmRobertaGoldenTests
{
    internal sealed record Expected(string Text, int[] Ids, float[] Dense, float[] Mean);

    internal static string ModelsFolder => Path.Combine(TestPaths.Shared, "golden", "models");

    internal static IReadOnlyList<Expected> ReadExpected()
    {
        var path = Path.Combine(ModelsFolder, "xlmr-m3-tiny.expected.json");
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} not found; set BGE_SHARED to the shared data folder");
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetSingle())];
        return [.. document.RootElement.GetProperty("texts").EnumerateArray().Select(t => new Expected(
            t.GetProperty("text").GetString()!,
            [.. t.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())],
            Floats(t.GetProperty("dense")),
            Floats(t.GetProperty("mean"))))];
    }

    internal static Encoder LoadEncoder(string folder, SimdWidth simd, Precision precision = Precision.Fp32)
    {
        var directory = ModelDirectory.Open(Path.Combine(ModelsFolder, folder));
        using var weights = directory.OpenWeights();
        return Encoder.Load(weights, simd, precision);
    }

    private static float[] Pool(HiddenStates states, int sequence, PoolingMode mode, SimdWidth simd)
    {
        var vector = new float[states.Hidden];
        Poolings.For(mode, simd).Pool(states, sequence, vector);
        L2Normalize.InPlace(vector, simd);
        return vector;
    }

    private static readonly SimdWidth[] Widths = [SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar];

    // The same weights as model.safetensors and as pytorch_model.bin (with the int64 position_ids buffer).
    private static IEnumerable<TestCaseData> Folders() =>
        from folder in new[] { "xlmr-m3-tiny", "xlmr-m3-tiny-pt" }
        from simd in Widths
        select new TestCaseData(folder, simd);

    [Test]
    public void TheConfigIsReadAsTheXlmRobertaFamily()
    {
        var config = EncoderConfig.Load(Path.Combine(ModelsFolder, "xlmr-m3-tiny", "config.json"));
        Assert.Multiple(() =>
        {
            Assert.That(config.Family, Is.EqualTo(EncoderFamily.XlmRoberta));
            Assert.That(config.PadTokenId, Is.EqualTo(1));
            Assert.That(config.PositionOffset, Is.EqualTo(2));
            Assert.That(config.MaxSequenceLength, Is.EqualTo(8192));
            Assert.That(config.TypeVocabSize, Is.EqualTo(1));
            Assert.That(config.LayerNormEps, Is.EqualTo(1e-5));
            Assert.That(EncoderConfig.Parse(config.ToJson(), "written"), Is.EqualTo(config));
        });
    }

    /// <summary>Every text alone (the 8,192-token one included) in CLS and mean pooling, at every width, from either weight file.</summary>
    [TestCaseSource(nameof(Folders))]
    public void EveryTextMatchesTheFloat64ReferenceAtEveryWidth(string folder, SimdWidth simd)
    {
        var encoder = LoadEncoder(folder, simd);
        var failures = new List<string>();
        double worstCosine = 1, worstAbs = 0;
        foreach (var (expected, index) in ReadExpected().Select((e, i) => (e, i)))
        {
            var states = encoder.Forward(TokenBatch.FromIds([expected.Ids]), parallelism: 2);
            foreach (var (mode, reference) in new[] { (PoolingMode.Cls, expected.Dense), (PoolingMode.Mean, expected.Mean) })
            {
                var (cosine, maxAbs) = GoldenEmbeddingTests.Compare(Pool(states, 0, mode, simd), reference);
                worstCosine = Math.Min(worstCosine, cosine);
                worstAbs = Math.Max(worstAbs, maxAbs);
                if (cosine < 0.99999 || maxAbs > 1e-4)
                {
                    failures.Add($"text {index} ({expected.Ids.Length} tokens) {mode}: cosine {cosine:F7}, max abs {maxAbs:E2}");
                }
            }
        }

        TestContext.Out.WriteLine($"{folder} {simd}: worst cosine {worstCosine:F8}, worst max abs {worstAbs:E2}");
        Assert.That(failures, Is.Empty);
    }

    /// <summary>The texts packed into one batch with the 8,192-token text among them give each text's vector alone, bit for bit.</summary>
    [Test]
    public void LongAndShortTextsInOneBatchGiveTheirVectorsAlone()
    {
        var encoder = LoadEncoder("xlmr-m3-tiny", Simd.Default);
        var expected = ReadExpected();
        var batch = encoder.Forward(TokenBatch.FromIds([.. expected.Select(e => e.Ids)]), parallelism: 2);
        for (var b = 0; b < expected.Count; b++)
        {
            var alone = encoder.Forward(TokenBatch.FromIds([expected[b].Ids]), parallelism: 1);
            Assert.That(batch.Sequence(b).SequenceEqual(alone.Sequence(0)), Is.True, $"text {b} ({expected[b].Ids.Length} tokens) differs inside the batch");
        }
    }

    [TestCase(Precision.Bf16, 0.999)]
    [TestCase(Precision.Int8, 0.99)]
    public void LowerPrecisionsStayCloseToTheReference(Precision precision, double minimumCosine)
    {
        var encoder = LoadEncoder("xlmr-m3-tiny", Simd.Default, precision);
        var worst = 1.0;
        foreach (var expected in ReadExpected().Where(e => e.Ids.Length <= 512))
        {
            var states = encoder.Forward(TokenBatch.FromIds([expected.Ids]), parallelism: 2);
            worst = Math.Min(worst, GoldenEmbeddingTests.Compare(Pool(states, 0, PoolingMode.Cls, Simd.Default), expected.Dense).Cosine);
        }

        TestContext.Out.WriteLine($"{precision}: worst cosine {worst:F6}");
        Assert.That(worst, Is.GreaterThanOrEqualTo(minimumCosine));
    }

    [Test]
    public void LengthsPastTheLastPositionAndTokenTypesPastTheTableAreRefused()
    {
        var encoder = LoadEncoder("xlmr-m3-tiny", Simd.Default);
        var tooLong = Enumerable.Repeat(5, 8193).ToArray();
        var error = Assert.Throws<ArgumentException>(() => encoder.Forward(TokenBatch.FromIds([tooLong])));
        Assert.That(error!.Message, Does.Contain("8193 tokens").And.Contain("1 to 8192"));
        var typed = Assert.Throws<ArgumentException>(() => encoder.Forward(TokenBatch.FromIds([[0, 5, 2]], [[0, 1, 1]])));
        Assert.That(typed!.Message, Does.Contain("token type 1 is outside 0..0"));
    }

    /// <summary>Text in, vector out through Embedder.Load: the directory picks the Unigram tokenizer and the family; default length is the model's 8,192.</summary>
    [TestCase("xlmr-m3-tiny")]
    [TestCase("xlmr-m3-tiny-pt")]
    public void TheEmbedderGivesTheReferenceVectorsFromTexts(string folder)
    {
        var embedder = Embedder.Load(Path.Combine(ModelsFolder, folder), new EmbedderOptions { Warning = _ => { } });
        Assert.That(embedder.MaxLength, Is.EqualTo(8192));
        var expected = ReadExpected();
        var dense = embedder.Encode([.. expected.Select(e => e.Text)]);
        var mean = embedder.Encode([.. expected.Select(e => e.Text)], new EncodeOptions { Pooling = PoolingMode.Mean });
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(embedder.Tokenizer.Encode(expected[i].Text).Ids, Is.EqualTo(expected[i].Ids), $"text {i}: ids");
            foreach (var (ours, reference) in new[] { (dense.RowArray(i), expected[i].Dense), (mean.RowArray(i), expected[i].Mean) })
            {
                var (cosine, maxAbs) = GoldenEmbeddingTests.Compare(ours, reference);
                Assert.That(cosine, Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
                Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), $"text {i}");
            }
        }
    }
}

