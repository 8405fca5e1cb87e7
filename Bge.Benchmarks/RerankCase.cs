using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using Bge.Core;
using Bge.Core.Evaluation;
using Bge.Reference;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Benchmarks;

/// <summary>
/// The <c>rerank</c> case of <c>compare</c>: one query against <see cref="Passages"/> SQuAD paragraphs of about 200
/// tokens each as pairs, scored by a cross-encoder. No real cross-encoder is provisioned here, so the reranker is the
/// model's own encoder with a BertForSequenceClassification head of fixed random weights (the shape of
/// ms-marco-MiniLM-L-6-v2 for arctic-xs and MiniLM: 6 layers × 384); the head is two small products per pair and does
/// not change what is timed. ONNX Runtime runs the same encoder graph on the same pair encodings, sorted by length
/// and padded per batch of 32 as FlagReranker feeds a model, then the same head. Rate: pair tokens per second.
/// </summary>
internal static class RerankCase
{
    public const int Passages = 100;

    /// <summary>Ours: a cross-encoder directory at the engine's precision, written by the parent.</summary>
    public static string Directory(string model, Precision precision) =>
        Path.Combine(Path.GetTempPath(), $"bge-bench-{model}-reranker-{Precisions.Name(precision)}");

    /// <summary>Writes the fp32 cross-encoder (the model's files, config naming the head, its tensors added), then the lower precision as ModelQuantizer writes it.</summary>
    public static void Prepare(string model, Precision precision)
    {
        var source = CompareEngine.SourceDirectory(model);
        var fp32 = Directory(model, Precision.Fp32);
        if (!System.IO.Directory.Exists(fp32))
        {
            var staging = fp32 + ".partial";
            if (System.IO.Directory.Exists(staging))
            {
                System.IO.Directory.Delete(staging, recursive: true);
            }

            System.IO.Directory.CreateDirectory(staging);
            foreach (var file in System.IO.Directory.EnumerateFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            {
                File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
            }

            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
            config["architectures"] = new JsonArray("BertForSequenceClassification");
            config["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
            File.WriteAllText(Path.Combine(staging, "config.json"), config.ToJsonString());
            var directory = ModelDirectory.Open(source);
            using (var weights = directory.OpenWeights())
            {
                var h = directory.Config.HiddenSize;
                var random = new Random(25);
                float[] Random(int count, float scale) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() - 0.5) * 2 * scale)];
                var entries = weights.Names.Order(StringComparer.Ordinal)
                    .Select(n => SafeTensorsEntry.FromFloats(n, [.. weights.Info(n).Shape], weights.Read(n))).ToList();
                entries.Add(SafeTensorsEntry.FromFloats("pooler.dense.weight", [h, h], Random(h * h, 0.05f)));
                entries.Add(SafeTensorsEntry.FromFloats("pooler.dense.bias", [h], Random(h, 0.05f)));
                entries.Add(SafeTensorsEntry.FromFloats("classifier.weight", [1, h], Random(h, 0.5f)));
                entries.Add(SafeTensorsEntry.FromFloats("classifier.bias", [1], [0.1f]));
                SafeTensorsWriter.Write(Path.Combine(staging, "model.safetensors"), entries);
            }

            System.IO.Directory.Move(staging, fp32);
        }

        if (precision != Precision.Fp32)
        {
            ModelQuantizer.Write(ModelDirectory.Open(fp32), Directory(model, precision), precision);
        }
    }

    /// <summary>The query and its passages: the first SQuAD question, and the paragraphs whose pair with it is 180–220 tokens long.</summary>
    public static (string Query, string[] Passages) Pairs(Tokenizer.Tokenizer tokenizer)
    {
        var data = BeirDataset.Load(Path.Combine(RepositoryPaths.Shared, "data", "squad-dev-retrieval"));
        var query = data.Queries[0].Text;
        var passages = data.Corpus.Select(d => d.Text)
            .Where(p => tokenizer.EncodePair(query, p, 512).Length is >= 180 and <= 220)
            .Take(Passages).ToArray();
        return passages.Length == Passages ? (query, passages)
            : throw new InvalidOperationException($"only {passages.Length} SQuAD paragraphs make a pair of 180–220 tokens");
    }

    /// <summary>ONNX Runtime's logits: the encoder graph on length-sorted padded batches of 32, then the head of the cross-encoder directory.</summary>
    public static Func<float[]> Ort(OrtEncoder ort, string crossEncoder, Tokenizer.Tokenizer tokenizer, string query, string[] passages)
    {
        var directory = ModelDirectory.Open(crossEncoder);
        var h = directory.Config.HiddenSize;
        float[] dense, denseBias, output;
        float outputBias;
        using (var weights = directory.OpenWeights())
        {
            (dense, denseBias, output, outputBias) = (weights.Read("pooler.dense.weight"), weights.Read("pooler.dense.bias"), weights.Read("classifier.weight"), weights.Read("classifier.bias")[0]);
        }

        return () =>
        {
            var encodings = passages.Select(p => tokenizer.EncodePair(query, p, 512)).ToArray();
            var order = Enumerable.Range(0, encodings.Length).OrderByDescending(i => encodings[i].Length).ToArray();
            var logits = new float[encodings.Length];
            var pooled = new float[h];
            for (var first = 0; first < order.Length; first += 32)
            {
                var members = order.Skip(first).Take(32).ToArray();
                var padded = new TokenBatch(members.Select(i => encodings[i]).ToList()).ToPadded(Padding.Longest, tokenizer.PadId);
                var states = ort.Run(padded);
                for (var b = 0; b < members.Length; b++)
                {
                    var cls = states.AsSpan(b * padded.SequenceLength * h, h);
                    for (var o = 0; o < h; o++)
                    {
                        pooled[o] = MathF.Tanh(TensorPrimitives.Dot(dense.AsSpan(o * h, h), cls) + denseBias[o]);
                    }

                    logits[members[b]] = TensorPrimitives.Dot(output, pooled) + outputBias;
                }
            }

            return logits;
        };
    }
}
