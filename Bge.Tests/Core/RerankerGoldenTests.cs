using System.Text.Json;
using System.Text.Json.Nodes;
using Bge.Core;
using Bge.Core.Kernels;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Tests.Core;

/// <summary>
/// The cross-encoders against ../shared/golden/models/{bert,xlmr}-reranker-tiny.expected.json: random weights in the
/// ms-marco (BertForSequenceClassification, pooler + classifier) and bge-reranker (XLMRobertaForSequenceClassification,
/// classifier.dense + out_proj) layouts, logits computed independently in float64. Each record carries Hugging Face's
/// pair encoding, so the tokenizer and the head are checked apart.
/// </summary>
public sealed class RerankerGoldenTests
{
    internal sealed record Pair(string Query, string Passage, int[] Ids, int[] TypeIds, float Logit, float Score);

    internal static readonly string[] Models = ["bert-reranker-tiny", "xlmr-reranker-tiny"];

    internal static string Folder(string model) => Path.Combine(XlmRobertaGoldenTests.ModelsFolder, model);

    internal static IReadOnlyList<Pair> ReadPairs(string model)
    {
        var path = Path.Combine(XlmRobertaGoldenTests.ModelsFolder, model + ".expected.json");
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} not found; set BGE_SHARED to the shared data folder");
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        Assert.That(document.RootElement.GetProperty("max_length").GetInt32(), Is.EqualTo(512));
        static int[] Ints(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];
        return [.. document.RootElement.GetProperty("pairs").EnumerateArray().Select(p => new Pair(
            p.GetProperty("query").GetString()!,
            p.GetProperty("passage").GetString()!,
            Ints(p.GetProperty("ids")),
            Ints(p.GetProperty("type_ids")),
            p.GetProperty("logit").GetSingle(),
            p.GetProperty("score").GetSingle()))];
    }

    private static readonly Dictionary<(string, SimdWidth, Precision), Reranker> Loaded = [];

    internal static Reranker Load(string model, SimdWidth simd = SimdWidth.Vector256, Precision precision = Precision.Fp32)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue((model, simd, precision), out var reranker))
            {
                reranker = Reranker.Load(Folder(model), new EmbedderOptions { Simd = simd, Precision = precision, DegreeOfParallelism = 2 });
                Loaded[(model, simd, precision)] = reranker;
            }

            return reranker;
        }
    }

    private static IEnumerable<TestCaseData> ModelsAtEveryWidth() =>
        from model in Models
        from simd in new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar }
        select new TestCaseData(model, simd);

    [TestCaseSource(nameof(Models))]
    public void TheHeadIsTheOneConfigJsonNames(string model)
    {
        var reranker = Load(model);
        Assert.That(reranker.Architecture, Is.EqualTo(model.StartsWith("bert", StringComparison.Ordinal) ? "BertForSequenceClassification" : "XLMRobertaForSequenceClassification"));
        Assert.That(reranker.Labels, Is.EqualTo(new[] { "LABEL_0" }));
        Assert.That(reranker.MaxLength, Is.EqualTo(512));
    }

    [TestCaseSource(nameof(Models))]
    public void PairsAreEncodedAsHuggingFaceEncodesThem(string model)
    {
        var tokenizer = Load(model).Tokenizer;
        foreach (var pair in ReadPairs(model))
        {
            var encoding = tokenizer.EncodePair(pair.Query, pair.Passage, 512);
            Assert.That(encoding.Ids, Is.EqualTo(pair.Ids), $"{pair.Query} | {pair.Passage}");
            Assert.That(encoding.TypeIds, Is.EqualTo(pair.TypeIds), $"{pair.Query} | {pair.Passage}");
        }
    }

    /// <summary>Hugging Face's ids straight into the encoder and head: the head alone, at every width.</summary>
    [TestCaseSource(nameof(ModelsAtEveryWidth))]
    public void LogitsFromHuggingFaceIdsMatchTheFloat64Reference(string model, SimdWidth simd)
    {
        var pairs = ReadPairs(model);
        var reranker = Load(model, simd);
        var batch = TokenBatch.FromIds([.. pairs.Select(p => p.Ids)], [.. pairs.Select(p => p.TypeIds)]);
        var logits = reranker.ScoreBatch(batch);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(logits[i], Has.Length.EqualTo(1));
            Assert.That(logits[i][0], Is.EqualTo(pairs[i].Logit).Within(1e-4), $"pair {i} at {simd}");
        }
    }

    /// <summary>Text in, logits out: tokenizer, batching by length, encoder and head together.</summary>
    [TestCaseSource(nameof(Models))]
    public void ScoresOfTextPairsMatchTheReferenceInInputOrder(string model)
    {
        var pairs = ReadPairs(model);
        var reranker = Load(model);
        var logits = reranker.Score([.. pairs.Select(p => (p.Query, p.Passage))], new RerankOptions { BatchSize = 5 });
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(logits[i], Is.EqualTo(pairs[i].Logit).Within(1e-4), $"pair {i}");
            Assert.That(Reranker.Sigmoid(logits[i]), Is.EqualTo(pairs[i].Score).Within(1e-5), $"pair {i}");
        }
    }

    [TestCaseSource(nameof(Models))]
    public void APairScoresTheSameAloneAsInABatch(string model)
    {
        var pairs = ReadPairs(model);
        var reranker = Load(model);
        var together = reranker.Score([.. pairs.Select(p => (p.Query, p.Passage))]);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(reranker.Score(pairs[i].Query, pairs[i].Passage), Is.EqualTo(together[i]), $"pair {i}");
        }
    }

    [TestCaseSource(nameof(Models))]
    public void RankOrdersPassagesByTheReferenceLogits(string model)
    {
        var pairs = ReadPairs(model);
        var query = pairs[0].Query;
        var shared = pairs.Select((p, i) => (p, i)).Where(x => x.p.Query == query).ToList();
        Assert.That(shared, Has.Count.GreaterThanOrEqualTo(8), "the first pairs share one query");
        var expected = shared.Select((x, j) => (j, x.p.Logit)).OrderByDescending(x => x.Logit).Select(x => x.j).ToArray();

        var ranked = Load(model).Rank(query, [.. shared.Select(x => x.p.Passage)]);
        Assert.That(ranked.Select(r => r.Index), Is.EqualTo(expected));
        var top3 = Load(model).Rank(query, [.. shared.Select(x => x.p.Passage)], topK: 3);
        Assert.That(top3.Select(r => r.Index), Is.EqualTo(expected.Take(3)));
        Assert.That(top3[0].Score, Is.EqualTo(Reranker.Sigmoid(top3[0].Logit)));
        Assert.That(top3[0].Logit, Is.EqualTo(shared[expected[0]].p.Logit).Within(1e-4));
    }

    /// <summary>bf16 and int8 encoders under the fp32 head: the same ranking of the shared-query passages, logits near.</summary>
    [TestCase("bert-reranker-tiny", Precision.Bf16)]
    [TestCase("bert-reranker-tiny", Precision.Int8)]
    [TestCase("xlmr-reranker-tiny", Precision.Bf16)]
    [TestCase("xlmr-reranker-tiny", Precision.Int8)]
    public void LowerPrecisionsStayNearTheReference(string model, Precision precision)
    {
        var pairs = ReadPairs(model);
        var logits = Load(model, SimdWidth.Vector256, precision).Score([.. pairs.Select(p => (p.Query, p.Passage))]);
        var spread = pairs.Max(p => p.Logit) - pairs.Min(p => p.Logit);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(logits[i], Is.EqualTo(pairs[i].Logit).Within(0.1 * spread), $"pair {i} at {precision}");
        }

        Assert.That(Spearman(logits, [.. pairs.Select(p => p.Logit)]), Is.GreaterThan(0.9));
    }

    /// <summary>A reranker quantized on disk keeps its head and scores as the same model quantized at load.</summary>
    [TestCase("bert-reranker-tiny")]
    [TestCase("xlmr-reranker-tiny")]
    public void AQuantizedCopyKeepsItsHead(string model)
    {
        var destination = Path.Combine(Path.GetTempPath(), $"bge-reranker-int8-{Environment.ProcessId}-{model}");
        try
        {
            ModelQuantizer.Write(ModelDirectory.Open(Folder(model)), destination, Precision.Int8);
            var stored = Reranker.Load(destination, new EmbedderOptions { Simd = SimdWidth.Vector256, DegreeOfParallelism = 2 });
            Assert.That(stored.Model.Precision, Is.EqualTo(Precision.Int8));
            var pairs = ReadPairs(model).Select(p => (p.Query, p.Passage)).ToList();
            Assert.That(stored.Score(pairs), Is.EqualTo(Load(model, SimdWidth.Vector256, Precision.Int8).Score(pairs)));
        }
        finally
        {
            if (Directory.Exists(destination))
            {
                Directory.Delete(destination, recursive: true);
            }
        }
    }

    private static double Spearman(float[] a, float[] b)
    {
        static double[] Ranks(float[] v)
        {
            var ranks = new double[v.Length];
            var order = Enumerable.Range(0, v.Length).OrderBy(i => v[i]).ToArray();
            for (var r = 0; r < order.Length; r++)
            {
                ranks[order[r]] = r;
            }

            return ranks;
        }

        var (ra, rb) = (Ranks(a), Ranks(b));
        var n = a.Length;
        return 1 - (6 * ra.Zip(rb, (x, y) => (x - y) * (x - y)).Sum() / (n * ((double)n * n - 1)));
    }

    [Test]
    public void OnlySecondTruncationCutsThePassageAndRefusesWhenTheQueryFillsThePair()
    {
        var reranker = Load("bert-reranker-tiny");
        var query = "what is the passage about";
        var passage = string.Join(' ', Enumerable.Repeat("passage", 40));
        var options = new RerankOptions { MaxLength = 48, Truncation = TruncationStrategy.OnlySecond };
        var encoding = reranker.Tokenizer.EncodePair(query, passage, 48, TruncationStrategy.OnlySecond);
        Assert.That(encoding.Length, Is.EqualTo(48));
        Assert.That(encoding.Ids.Take(Array.IndexOf(encoding.TypeIds, 1)), Is.EqualTo(reranker.Tokenizer.Encode(query).Ids), "the query is whole");
        var expected = reranker.ScoreBatch(new TokenBatch([encoding]))[0][0];
        Assert.That(reranker.Score(query, passage, options), Is.EqualTo(expected));
        Assert.Throws<TruncationException>(() => reranker.Score(query, passage, options with { MaxLength = 6 }));
    }

    [Test]
    public void ProgressAndCancellationFollowTheForwardPasses()
    {
        var reranker = Load("xlmr-reranker-tiny");
        var passages = Enumerable.Range(0, 10).Select(i => $"passage number {i}").ToList();
        var reports = new List<EncodeProgress>();
        reranker.Score("query", passages, new RerankOptions { BatchSize = 3 }, new SynchronousProgress(reports.Add));
        Assert.That(reports.Select(r => r.Done), Is.EqualTo(new[] { 3, 6, 9, 10 }));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => reranker.Score("query", passages, null, null, cancelled.Token));
    }

    private sealed class SynchronousProgress(Action<EncodeProgress> report) : IProgress<EncodeProgress>
    {
        public void Report(EncodeProgress value) => report(value);
    }

    [Test]
    public void AnEmbeddingModelIsRefusedByName()
    {
        var e = Assert.Throws<ModelFormatException>(() => Reranker.Load(Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny")));
        Assert.That(e!.Message, Does.Contain("embedding model").And.Contain("ForSequenceClassification"));
    }

    [Test]
    public void AHeadOfUnknownArchitectureIsRefusedByName()
    {
        using var copy = new ModelCopy("bert-reranker-tiny");
        copy.EditConfig(c => c["architectures"] = new JsonArray("DistilBertForSequenceClassification"));
        var e = Assert.Throws<ModelFormatException>(() => Reranker.Load(copy.Path));
        Assert.That(e!.Message, Does.Contain("DistilBertForSequenceClassification").And.Contain("BertForSequenceClassification"));
    }

    [Test]
    public void AMissingOrMisshapenHeadTensorIsNamed()
    {
        using var copy = new ModelCopy("xlmr-reranker-tiny");
        copy.RewriteWeights(entries => entries.Where(e => e.Name != "classifier.out_proj.bias"));
        var missing = Assert.Throws<ModelFormatException>(() => Reranker.Load(copy.Path));
        Assert.That(missing!.TensorName, Is.EqualTo("classifier.out_proj.bias"));

        using var labels = new ModelCopy("xlmr-reranker-tiny");
        labels.EditConfig(c => c["id2label"] = new JsonObject { ["0"] = "no", ["1"] = "yes" });
        var misshapen = Assert.Throws<ModelFormatException>(() => Reranker.Load(labels.Path));
        Assert.That(misshapen!.TensorName, Is.EqualTo("classifier.out_proj.weight"));
        Assert.That(misshapen.Message, Does.Contain("[2, 64]").And.Contain("2 labels"));
    }

    /// <summary>
    /// Two labels (the output rows doubled, the second negated): <see cref="Reranker.Logits"/> gives both per pair,
    /// <see cref="Reranker.Score(string, string, RerankOptions?)"/> refuses, since no one logit is the relevance.
    /// </summary>
    [Test]
    public void AModelWithTwoLabelsGivesBothLogits()
    {
        using var copy = new ModelCopy("bert-reranker-tiny");
        copy.EditConfig(c => c["id2label"] = new JsonObject { ["0"] = "irrelevant", ["1"] = "relevant" });
        copy.RewriteWeights(entries => entries.Select(e => e.Name is "classifier.weight" or "classifier.bias" ? TwoRows(e) : e));
        var reranker = Reranker.Load(copy.Path);
        Assert.That(reranker.Labels, Is.EqualTo(new[] { "irrelevant", "relevant" }));
        var pairs = ReadPairs("bert-reranker-tiny").Take(6).ToList();
        var logits = reranker.Logits([.. pairs.Select(p => (p.Query, p.Passage))]);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.That(logits[i][0], Is.EqualTo(pairs[i].Logit).Within(1e-4));
            Assert.That(logits[i][1], Is.EqualTo(-pairs[i].Logit).Within(1e-4));
        }

        Assert.Throws<InvalidOperationException>(() => reranker.Score("q", "p"));
    }

    private static SafeTensorsEntry TwoRows(SafeTensorsEntry entry)
    {
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(entry.Data.Span).ToArray();
        var shape = entry.Shape.ToArray();
        shape[0] = 2;
        return SafeTensorsEntry.FromFloats(entry.Name, shape, [.. values, .. values.Select(v => -v)]);
    }

    /// <summary>A writable copy of a tiny model, removed afterwards.</summary>
    internal sealed class ModelCopy : IDisposable
    {
        public ModelCopy(string model)
        {
            Path = Directory.CreateTempSubdirectory("bge-reranker-").FullName;
            foreach (var file in Directory.EnumerateFiles(Folder(model)))
            {
                File.Copy(file, System.IO.Path.Combine(Path, System.IO.Path.GetFileName(file)));
                File.SetAttributes(System.IO.Path.Combine(Path, System.IO.Path.GetFileName(file)), FileAttributes.Normal);
            }
        }

        public string Path { get; }

        public void EditConfig(Action<JsonObject> edit)
        {
            var file = System.IO.Path.Combine(Path, "config.json");
            var config = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            edit(config);
            File.WriteAllText(file, config.ToJsonString());
        }

        public void RewriteWeights(Func<IEnumerable<SafeTensorsEntry>, IEnumerable<SafeTensorsEntry>> rewrite)
        {
            var file = System.IO.Path.Combine(Path, "model.safetensors");
            List<SafeTensorsEntry> entries;
            using (var weights = SafeTensorsFile.Open(file))
            {
                entries = [.. weights.Tensors.Values.Select(t => new SafeTensorsEntry(t.Name, t.DType, t.Shape, weights.GetBytes(t.Name).ToArray()))];
            }

            SafeTensorsWriter.Write(file, [.. rewrite(entries)]);
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
