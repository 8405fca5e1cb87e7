using System.Numerics.Tensors;
using Bge.Core;
using Bge.Core.Model;
using Bge.Core.Pooling;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Tests.Core;

/// <summary>Pooled embeddings against Hugging Face's tokenizer + ONNX Runtime (../shared/golden).</summary>
public sealed class GoldenEmbeddingTests
{
    private static readonly Dictionary<string, Embedder> Embedders = [];

    internal static Embedder Load(string model)
    {
        lock (Embedders)
        {
            if (!Embedders.TryGetValue(model, out var embedder))
            {
                embedder = Embedder.Load(TestPaths.Model(model), new EmbedderOptions { Warning = _ => { } });
                Embedders[model] = embedder;
            }

            return embedder;
        }
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("snowflake-arctic-embed-xs", "arctic-xs.jsonl");
        yield return new TestCaseData("all-MiniLM-L6-v2", "minilm.jsonl");
    }

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

    [TestCaseSource(nameof(Cases))]
    public void EveryGoldenLineMatchesInBothPoolingsOneAtATimeAndInMixedBatches(string model, string file)
    {
        var golden = Golden.Read(file);
        var embedder = Load(model);
        double worstCosine = 1, worstAbs = 0;
        var failures = new List<string>();

        void Check(HiddenStates states, int b, GoldenLine line, string how)
        {
            foreach (var pooling in new[] { PoolingMode.Cls, PoolingMode.Mean })
            {
                var vector = new float[embedder.Dimension];
                Poolings.For(pooling).Pool(states, b, vector);
                L2Normalize.InPlace(vector);
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

        TestContext.Out.WriteLine($"{model}: worst cosine {worstCosine:F8}, worst max abs {worstAbs:E2} over {golden.Count} lines ×2");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
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
