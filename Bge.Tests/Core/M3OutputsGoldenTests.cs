using System.Text.Json;
using Bge.Core;
using Bge.Core.Kernels;

namespace Bge.Tests.Core;

/// <summary>
/// bge-m3's three outputs against ../shared/golden/models/xlmr-m3-tiny.expected.json (computed independently in
/// float64 from FlagEmbedding's definitions): dense, lexical weights and ColBERT vectors of every text, and the pair
/// scores with their hybrid sums, from the safetensors folder and from the PyTorch-only one.
/// </summary>
public sealed class M3OutputsGoldenTests
{
    internal sealed record Text(string Value, int[] Ids, float[] Dense, Dictionary<int, float>? Sparse, float[][]? ColBert);

    internal sealed record PairScore(int Query, int Passage, Dictionary<string, float> Scores);

    internal static (List<Text> Texts, List<PairScore> Pairs, float[] Weights) Read()
    {
        var path = Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny.expected.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetSingle())];
        var texts = root.GetProperty("texts").EnumerateArray().Select(t => new Text(
            t.GetProperty("text").GetString()!,
            [.. t.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())],
            Floats(t.GetProperty("dense")),
            t.TryGetProperty("sparse", out var sparse) ? sparse.EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetSingle()) : null,
            t.TryGetProperty("colbert", out var colbert) ? [.. colbert.EnumerateArray().Select(Floats)] : null)).ToList();
        var pairs = root.GetProperty("pair_scores").EnumerateArray().Select(p => new PairScore(
            p.GetProperty("query").GetInt32(),
            p.GetProperty("passage").GetInt32(),
            p.EnumerateObject().Where(f => f.Name is not ("query" or "passage")).ToDictionary(f => f.Name, f => f.Value.GetSingle()))).ToList();
        return (texts, pairs, Floats(root.GetProperty("hybrid_weights")));
    }

    private static Embedder Load(string folder, SimdWidth simd) =>
        Embedder.Load(Path.Combine(XlmRobertaGoldenTests.ModelsFolder, folder), new EmbedderOptions { Simd = simd, DegreeOfParallelism = 2 });

    private static IEnumerable<TestCaseData> Cases() =>
        from folder in new[] { "xlmr-m3-tiny", "xlmr-m3-tiny-pt" }
        from simd in new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar }
        select new TestCaseData(folder, simd);

    [TestCaseSource(nameof(Cases))]
    public void DenseSparseAndColBertMatchTheReference(string folder, SimdWidth simd)
    {
        var (texts, _, _) = Read();
        var embedder = Load(folder, simd);
        Assert.That(embedder.AvailableOutputs, Is.EqualTo(EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert));
        var shortTexts = texts.Where(t => t.Sparse is not null).ToList();
        foreach (var text in shortTexts)
        {
            Assert.That(embedder.Tokenizer.Encode(text.Value, 8192).Ids, Is.EqualTo(text.Ids), text.Value);
        }

        var result = embedder.EncodeOutputs([.. shortTexts.Select(t => t.Value)], EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert, new EncodeOptions { BatchSize = 4 });
        for (var i = 0; i < shortTexts.Count; i++)
        {
            var expected = shortTexts[i];
            Close(result.Dense!.Row(i).ToArray(), expected.Dense, $"text {i} dense");
            var sparse = result.Sparse![i];
            Assert.That(sparse.Ids, Is.EqualTo(expected.Sparse!.Keys.Order()), $"text {i} sparse ids");
            for (var k = 0; k < sparse.Count; k++)
            {
                Assert.That(sparse.Weights[k], Is.EqualTo(expected.Sparse[sparse.Ids[k]]).Within(1e-4), $"text {i} weight of id {sparse.Ids[k]}");
            }

            var colbert = result.ColBert![i];
            Assert.That(colbert.Count, Is.EqualTo(expected.ColBert!.Length), $"text {i} ColBERT vectors");
            Assert.That(colbert.Count, Is.EqualTo(expected.Ids.Length - 1));
            for (var r = 0; r < colbert.Count; r++)
            {
                Close(colbert.Row(r).ToArray(), expected.ColBert[r], $"text {i} ColBERT row {r}");
            }
        }
    }

    [Test]
    public void EncodeBatchOutputsGivesEncodeOutputsBits()
    {
        var texts = Read().Texts.Where(t => t.Sparse is not null).Select(t => t.Value).ToList();
        var embedder = Load("xlmr-m3-tiny", SimdWidth.Vector256);
        var all = EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert;
        var each = embedder.EncodeOutputs(texts, all);
        var batch = embedder.EncodeBatchOutputs(new Bge.Tokenizer.TokenBatch([.. texts.Select(t => embedder.Tokenizer.Encode(t, embedder.MaxLength))]), all);
        Assert.That(batch.Dense!.Rows, Is.EqualTo(texts.Count));
        for (var i = 0; i < texts.Count; i++)
        {
            Assert.That(batch.Dense.Row(i).ToArray(), Is.EqualTo(each.Dense!.Row(i).ToArray()), $"text {i} dense");
            Assert.That((batch.Sparse![i].Ids, batch.Sparse[i].Weights), Is.EqualTo((each.Sparse![i].Ids, each.Sparse[i].Weights)), $"text {i} sparse");
            Assert.That(batch.ColBert![i].Count, Is.EqualTo(each.ColBert![i].Count));
            for (var r = 0; r < batch.ColBert[i].Count; r++)
            {
                Assert.That(batch.ColBert[i].Row(r).ToArray(), Is.EqualTo(each.ColBert[i].Row(r).ToArray()), $"text {i} ColBERT row {r}");
            }
        }

        Assert.That(() => Load("xlmr-m3-tiny", SimdWidth.Vector256).EncodeBatchOutputs(new Bge.Tokenizer.TokenBatch([]), EncoderOutputs.None), Throws.ArgumentException);
    }

    internal static void Close(float[] actual, float[] expected, string what)
    {
        var (cosine, maxAbs) = GoldenEmbeddingTests.Compare(actual, expected);
        Assert.That(cosine, Is.GreaterThanOrEqualTo(0.99999), what);
        Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), what);
    }

    [Test]
    public void PairScoresAndHybridSumsMatchTheReference()
    {
        var (texts, pairs, weights) = Read();
        Assert.That(weights, Is.EqualTo(new[] { 0.4f, 0.2f, 0.4f }));
        var hybrid = HybridWeights.Default;
        Assert.That(new[] { hybrid.Dense, hybrid.Sparse, hybrid.ColBert }, Is.EqualTo(weights));
        var embedder = Load("xlmr-m3-tiny", Simd.Default);
        var result = embedder.EncodeOutputs([.. texts.Where(t => t.Sparse is not null).Select(t => t.Value)], EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert);
        foreach (var pair in pairs)
        {
            var (q, p) = (pair.Query, pair.Passage);
            var dense = System.Numerics.Tensors.TensorPrimitives.Dot(result.Dense!.Row(q), result.Dense.Row(p));
            var sparse = result.Sparse![q].Dot(result.Sparse[p]);
            var colbert = result.ColBert![q].MaxSim(result.ColBert[p]);
            var at = $"pair {q} → {p}";
            Assert.That(dense, Is.EqualTo(pair.Scores["dense"]).Within(1e-4), at);
            Assert.That(sparse, Is.EqualTo(pair.Scores["sparse"]).Within(1e-4), at);
            Assert.That(colbert, Is.EqualTo(pair.Scores["colbert"]).Within(1e-4), at);
            Assert.That(hybrid.Combine(dense, sparse, null), Is.EqualTo(pair.Scores["sparse+dense"]).Within(1e-4), at);
            Assert.That(hybrid.Combine(dense, sparse, colbert), Is.EqualTo(pair.Scores["colbert+sparse+dense"]).Within(1e-4), at);
        }
    }

    /// <summary>The 8,192-token text's dense output through the same call, and every output the same alone as in a batch.</summary>
    [Test]
    public void TheLongTextAndBatchesGiveWhatEachTextGivesAlone()
    {
        var (texts, _, _) = Read();
        var embedder = Load("xlmr-m3-tiny", Simd.Default);
        var all = EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert;
        var together = embedder.EncodeOutputs([.. texts.Select(t => t.Value)], all);
        Close(together.Dense!.Row(texts.Count - 1).ToArray(), texts[^1].Dense, "the 8,192-token text");
        Assert.That(together.ColBert![texts.Count - 1].Count, Is.EqualTo(8191));
        foreach (var i in new[] { 0, 3, 15 })
        {
            var alone = embedder.EncodeOutputs([texts[i].Value], all);
            Assert.That(alone.Dense!.Row(0).SequenceEqual(together.Dense.Row(i)), Is.True, $"text {i} dense");
            Assert.That(alone.Sparse![0], Is.EqualTo(together.Sparse![i]).Using<SparseVector>((a, b) => a.Ids.SequenceEqual(b.Ids) && a.Weights.SequenceEqual(b.Weights)), $"text {i} sparse");
            Assert.That(alone.ColBert![0].Data, Is.EqualTo(together.ColBert[i].Data), $"text {i} ColBERT");
        }

        Assert.That(embedder.EncodeOutputs(["x"], EncoderOutputs.Sparse).Dense, Is.Null);
    }

    [Test]
    public void OutputsAModelLacksAreRefusedNamingTheHeadFiles()
    {
        var embedder = Embedder.Load(Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-reranker-tiny"));
        Assert.That(embedder.AvailableOutputs, Is.EqualTo(EncoderOutputs.Dense));
        var error = Assert.Throws<ArgumentException>(() => embedder.EncodeOutputs(["text"], EncoderOutputs.Dense | EncoderOutputs.Sparse));
        Assert.That(error!.Message, Does.Contain("sparse_linear.pt"));
        Assert.Throws<ArgumentException>(() => embedder.EncodeOutputs(["text"], EncoderOutputs.None));
    }

    [Test]
    public void HybridWeightsNeedAScoreToWeigh()
    {
        Assert.Throws<ArgumentException>(() => HybridWeights.Default.Combine(null, null, null));
        Assert.Throws<ArgumentException>(() => new HybridWeights(0, 1, 1).Combine(0.5f, null, null));
        Assert.That(new HybridWeights(1, 0, 0).Combine(0.5f, 0.9f, null), Is.EqualTo(0.5f));
    }
}
