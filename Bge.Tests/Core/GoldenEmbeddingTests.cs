using System.Numerics.Tensors;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Core.Pooling;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Tests.Core;

/// <summary>Pooled embeddings against Hugging Face's tokenizer + ONNX Runtime (../shared/golden).</summary>
public sealed class GoldenEmbeddingTests
{
    private static readonly Dictionary<(string, SimdWidth?, Precision), Embedder> Embedders = [];

    /// <summary>The model at <paramref name="simd"/> (null: the process default) and <paramref name="precision"/>, loaded once per test run.</summary>
    internal static Embedder Load(string model, SimdWidth? simd = null, Precision precision = Precision.Fp32)
    {
        lock (Embedders)
        {
            if (!Embedders.TryGetValue((model, simd, precision), out var embedder))
            {
                embedder = Embedder.Load(TestPaths.Model(model), new EmbedderOptions { Warning = _ => { }, Simd = simd, Precision = precision });
                Embedders[(model, simd, precision)] = embedder;
            }

            return embedder;
        }
    }

    private static readonly SimdWidth[] Widths = [SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar];

    private static IEnumerable<TestCaseData> Cases() =>
        from simd in Widths
        from model in new[] { ("snowflake-arctic-embed-xs", "arctic-xs.jsonl"), ("all-MiniLM-L6-v2", "minilm.jsonl") }
        select new TestCaseData(model.Item1, model.Item2, simd);

    internal static (double Cosine, double MaxAbs) Compare(ReadOnlySpan<float> ours, float[] reference)
    {
        var cosine = TensorPrimitives.CosineSimilarity(ours, reference);
        var maxAbs = 0.0;
        for (var i = 0; i < reference.Length; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs(ours[i] - reference[i]));
        }

        return (cosine, maxAbs);
    }

    /// <summary>
    /// At every width (those this CPU lacks run in software): each golden line alone, then the lines shuffled into
    /// batches of 16 mixed lengths, whose vectors must be bit-identical to the same text's alone.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void EveryGoldenLineMatchesInBothPoolingsOneAtATimeAndInMixedBatchesAtEveryWidth(string model, string file, SimdWidth simd)
    {
        var golden = Golden.Read(file);
        var embedder = Load(model, simd);
        Assert.That(embedder.Model.Simd, Is.EqualTo(simd));
        double worstCosine = 1, worstAbs = 0;
        var failures = new List<string>();
        var alone = new Dictionary<(GoldenLine, PoolingMode), float[]>();

        void Check(HiddenStates states, int b, GoldenLine line, string how)
        {
            foreach (var pooling in new[] { PoolingMode.Cls, PoolingMode.Mean })
            {
                var vector = new float[embedder.Dimension];
                Poolings.For(pooling, simd).Pool(states, b, vector);
                L2Normalize.InPlace(vector, simd);
                if (!alone.TryAdd((line, pooling), vector) && !alone[(line, pooling)].AsSpan().SequenceEqual(vector))
                {
                    failures.Add($"{how} {pooling} {line}: not bit-identical to the text alone");
                }

                var (cosine, maxAbs) = Compare(vector, pooling == PoolingMode.Cls ? line.Cls! : line.Mean!);
                worstCosine = Math.Min(worstCosine, cosine);
                worstAbs = Math.Max(worstAbs, maxAbs);
                if (cosine < 0.99999 || maxAbs > 1e-4)
                {
                    failures.Add($"{how} {pooling} {line}: cosine {cosine:F7}, max abs {maxAbs:E2}");
                }
            }
        }

        foreach (var line in golden)
        {
            Check(embedder.Model.Forward(TokenBatch.FromIds([line.Ids]), 2), 0, line, "batch 1");
        }

        // Mixed lengths in one batch: results must not depend on the neighbours.
        var random = new Random(3);
        var shuffled = golden.OrderBy(_ => random.Next()).ToList();
        for (var first = 0; first < shuffled.Count; first += 16)
        {
            var chunk = shuffled.Skip(first).Take(16).ToList();
            var states = embedder.Model.Forward(TokenBatch.FromIds(chunk.Select(l => l.Ids).ToList()), 2);
            for (var b = 0; b < chunk.Count; b++)
            {
                Check(states, b, chunk[b], "batch 16");
            }
        }

        TestContext.Out.WriteLine($"{model} at {simd}: worst cosine {worstCosine:F8}, worst max abs {worstAbs:E2} over {golden.Count} lines ×2");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    /// <summary>
    /// bf16 and int8 weights, at the default width and at 128 bits: every golden line alone and in mixed batches
    /// of 16 (bit-identical to alone), both poolings, against ONNX Runtime's fp32 outputs: bf16 cosine at least 0.999;
    /// int8 none below 0.98 and the median at least 0.997.
    /// </summary>
    [Test]
    public void LowerPrecisionEmbeddingsStayWithinTheirBoundsOfTheFp32GoldenOutputsAndDoNotDependOnTheBatch(
        [Values("snowflake-arctic-embed-xs", "all-MiniLM-L6-v2")] string model, [Values(null, SimdWidth.Vector128)] SimdWidth? simd,
        [Values(Precision.Bf16, Precision.Int8)] Precision precision)
    {
        // bf16: every cosine at least 0.999. int8: the median at least 0.997, none below 0.98 (MiniLM's CLS vector,
        // a pooling it was not trained for, is the one that moves most: 0.9886 at worst).
        var floor = precision == Precision.Bf16 ? 0.999 : 0.98;
        var golden = Golden.Read(model == "all-MiniLM-L6-v2" ? "minilm.jsonl" : "arctic-xs.jsonl");
        var embedder = Load(model, simd, precision);
        Assert.That(embedder.Model.Precision, Is.EqualTo(precision));
        var width = embedder.Model.Simd;
        var alone = new Dictionary<(GoldenLine, PoolingMode), float[]>();
        var (worst, failures, cosines) = (1.0, new List<string>(), new List<double>());
        void Check(HiddenStates states, int b, GoldenLine line)
        {
            foreach (var pooling in new[] { PoolingMode.Cls, PoolingMode.Mean })
            {
                var vector = new float[embedder.Dimension];
                Poolings.For(pooling, width).Pool(states, b, vector);
                L2Normalize.InPlace(vector, width);
                if (!alone.TryAdd((line, pooling), vector) && !alone[(line, pooling)].AsSpan().SequenceEqual(vector))
                {
                    failures.Add($"{pooling} {line}: not bit-identical to the text alone");
                }

                var (cosine, _) = Compare(vector, pooling == PoolingMode.Cls ? line.Cls! : line.Mean!);
                worst = Math.Min(worst, cosine);
                cosines.Add(cosine);
                if (cosine < floor)
                {
                    failures.Add($"{pooling} {line}: cosine {cosine:F6}");
                }
            }
        }

        foreach (var line in golden)
        {
            Check(embedder.Model.Forward(TokenBatch.FromIds([line.Ids]), 2), 0, line);
        }

        foreach (var chunk in golden.OrderBy(l => l.Ids.Length % 7).Chunk(16))
        {
            var states = embedder.Model.Forward(TokenBatch.FromIds(chunk.Select(l => l.Ids).ToList()), 2);
            for (var b = 0; b < chunk.Length; b++)
            {
                Check(states, b, chunk[b]);
            }
        }

        cosines.Sort();
        var median = cosines[cosines.Count / 2];
        TestContext.Out.WriteLine($"{model} {Precisions.Name(precision)} at {Simd.Describe(width)}: cosine to the fp32 golden outputs min {worst:F7}, median {median:F7} over {golden.Count} lines ×2");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
        Assert.That(median, Is.AtLeast(precision == Precision.Bf16 ? 0.999 : 0.997), "median cosine");
    }

    /// <summary>
    /// A quick check of the process's own width (<see cref="Simd.Default"/>) on the first 40 golden lines of each
    /// model, alone and as one batch: what an emulated ARM64 run (NEON) can afford where the full set takes too long.
    /// </summary>
    [Test]
    public void ASampleOfGoldenLinesMatchesAtTheDefaultWidth()
    {
        foreach (var (model, file) in new[] { ("snowflake-arctic-embed-xs", "arctic-xs.jsonl"), ("all-MiniLM-L6-v2", "minilm.jsonl") })
        {
            var golden = Golden.Read(file).Take(40).ToList();
            var embedder = Load(model);
            TestContext.Out.WriteLine($"{model} at {Simd.Describe(embedder.Model.Simd)}");
            var together = embedder.Model.Forward(TokenBatch.FromIds(golden.Select(l => l.Ids).ToList()), 2);
            for (var i = 0; i < golden.Count; i++)
            {
                var alone = embedder.Model.Forward(TokenBatch.FromIds([golden[i].Ids]), 2);
                foreach (var pooling in new[] { PoolingMode.Cls, PoolingMode.Mean })
                {
                    var (single, batched) = (new float[embedder.Dimension], new float[embedder.Dimension]);
                    Poolings.For(pooling, embedder.Model.Simd).Pool(alone, 0, single);
                    Poolings.For(pooling, embedder.Model.Simd).Pool(together, i, batched);
                    L2Normalize.InPlace(single, embedder.Model.Simd);
                    L2Normalize.InPlace(batched, embedder.Model.Simd);
                    Assert.That(batched, Is.EqualTo(single), $"{model} {pooling} {golden[i]}: batched differs from alone");
                    var (cosine, maxAbs) = Compare(single, pooling == PoolingMode.Cls ? golden[i].Cls! : golden[i].Mean!);
                    Assert.That(cosine, Is.GreaterThanOrEqualTo(0.99999), $"{model} {pooling} {golden[i]}");
                    Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), $"{model} {pooling} {golden[i]}");
                }
            }
        }
    }

    [Test]
    public void EmbedderFromTextMatchesTheGoldenTrainedPooling()
    {
        foreach (var (model, file) in new[] { ("snowflake-arctic-embed-xs", "arctic-xs.jsonl"), ("all-MiniLM-L6-v2", "minilm.jsonl") })
        {
            var golden = Golden.Read(file);
            var embedder = Load(model);
            var embeddings = embedder.Encode(golden.Select(g => g.Text).ToList(), new EncodeOptions { BatchSize = 24 });
            for (var i = 0; i < golden.Count; i++)
            {
                var reference = embedder.TrainedPooling == PoolingMode.Cls ? golden[i].Cls! : golden[i].Mean!;
                var (cosine, maxAbs) = Compare(embeddings.Row(i), reference);
                Assert.That(cosine, Is.GreaterThanOrEqualTo(0.99999), $"{model} {golden[i]}");
                Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), $"{model} {golden[i]}");
            }
        }
    }
}
