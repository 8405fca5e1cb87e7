using System.Runtime.InteropServices;
using Encoding = System.Text.Encoding;
using Bge.Core.Search;
using Bge.Reference;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.Onnx;
using Bge.Weights.SafeTensors;
using Bge.Weights.Torch;
using Bge.Tests.Weights.Torch;

namespace Bge.Tests.Robustness;

/// <summary>
/// Bounded fuzzing of every parser that reads other people's files, plus the tokenizer on hostile text
/// (BGE_FUZZ_SECONDS per target, 20 by default), and the saved corpus of past failures as regression cases.
/// </summary>
[NonParallelizable]
public sealed class FuzzTests
{
    private static readonly EncoderConfig Tiny = TinyBert.Config(layers: 1, hidden: 8, heads: 2, intermediate: 16, vocab: 30);

    private static readonly Lazy<Bge.Tokenizer.Tokenizer> Tokenizer = new(() => Bge.Tokenizer.Tokenizer.FromDirectory(TestPaths.Arctic));

    private static readonly string Scratch = Path.Combine(Path.GetTempPath(), $"bge-fuzz-{Environment.ProcessId}");

    private sealed record Target(string Name, Func<IReadOnlyList<byte[]>> Seeds, Action<byte[]> Run, Type[] Allowed);

    private static string TempFile(byte[] bytes, string name)
    {
        Directory.CreateDirectory(Scratch);
        var path = Path.Combine(Scratch, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] SafeTensorsSeed(TensorDType dtype)
    {
        Directory.CreateDirectory(Scratch);
        TinyBert.Write(Scratch, Tiny, TinyBert.Tensors(Tiny), dtype: dtype);
        return File.ReadAllBytes(Path.Combine(Scratch, "model.safetensors"));
    }

    private static void ReadTorch(string path)
    {
        using var file = TorchCheckpoint.Open(path);
        foreach (var (name, info) in file.Tensors)
        {
            _ = file.GetBytes(name).Length;
            if (info.DType.IsFloatingPoint())
            {
                file.ReadFloat32(name);
            }
        }
    }

    private const string WordPieceTokenizerJson = """
        {"added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}],
         "normalizer": {"type": "BertNormalizer", "lowercase": true},
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                   "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "w": 5, "##orl": 6, "##d": 7}},
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}}
        """;

    /// <summary>The shared XLM-R tokenizer.json cut to its first 300 pieces (charsmap, template and added tokens whole), so each run parses quickly.</summary>
    private static byte[] SmallTokenizerJson()
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllBytes(Golden.PathOf(Path.Combine("xlmr", "tokenizer.json"))))!;
        var vocab = root["model"]!["vocab"]!.AsArray();
        while (vocab.Count > 300)
        {
            vocab.RemoveAt(vocab.Count - 1);
        }

        foreach (var token in root["added_tokens"]!.AsArray())
        {
            token!["id"] = Math.Min(token["id"]!.GetValue<int>(), 299);
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static readonly Target[] Targets =
    [
        new("safetensors",
            () => [SafeTensorsSeed(TensorDType.F32), SafeTensorsSeed(TensorDType.BF16), SafeTensorsSeed(TensorDType.F16)],
            bytes =>
            {
                var path = TempFile(bytes, "input.safetensors");
                using (var file = SafeTensorsFile.Open(path))
                {
                    foreach (var (name, info) in file.Tensors)
                    {
                        if (info.DType.IsFloatingPoint())
                        {
                            file.ReadFloat32(name);
                        }
                    }
                }

                using var weights = Checkpoint.Open(Tiny, [path]);
                foreach (var (name, _) in EncoderTensorNames.Expected(Tiny))
                {
                    weights.Read(name);
                }
            },
            [typeof(ModelFormatException)]),
        new("torch",
            () => [.. TorchCorpusSeeds.Build().Where(s => s.Valid).Select(s => s.Bytes)],
            bytes => ReadTorch(TempFile(bytes, "input.pt")),
            [typeof(ModelFormatException)]),

        // The pickle alone, mutated and stored in an otherwise valid archive: most whole-file mutations break the zip first.
        new("torch-pickle",
            () => [TorchCorpusSeeds.Small(protocol4: false, zip64: false).Pickle(), TorchCorpusSeeds.Small(protocol4: true, zip64: false).Pickle()],
            bytes => ReadTorch(TempFile(TorchCorpusSeeds.Small(protocol4: false, zip64: false).Build(bytes), "input.pt")),
            [typeof(ModelFormatException)]),
        new("config",
            () => [Encoding.UTF8.GetBytes(Tiny.ToJson()), File.ReadAllBytes(Path.Combine(TestPaths.Arctic, "config.json"))],
            bytes => EncoderConfig.Parse(Encoding.UTF8.GetString(bytes), "fuzz/config.json").Validate("fuzz/config.json"),
            [typeof(ModelFormatException)]),
        new("onnx",
            () => [OnnxBertExport.Build(Tiny, TinyBert.Tensors(Tiny))],
            bytes => OnnxBertImporter.Map(OnnxGraph.Parse(bytes, "fuzz.onnx")),
            [typeof(ModelFormatException)]),
        new("vocab",
            () =>
            {
                var lines = File.ReadLines(Path.Combine(TestPaths.Arctic, "vocab.txt")).Take(1200).ToList();
                return [Encoding.UTF8.GetBytes(string.Join("\n", lines)), Encoding.UTF8.GetBytes(string.Join("\r\n", lines.Take(300)) + "\r\n")];
            },
            bytes =>
            {
                var tokenizer = Bge.Tokenizer.Tokenizer.WordPieceTokenizer(Bge.Tokenizer.Models.WordPieceVocabulary.Parse(bytes, "fuzz/vocab.txt"), true, 512, "fuzz/vocab.txt");
                tokenizer.Encode("unaffable déjà vu, 東京 [SEP] hello!");
            },
            [typeof(TokenizerFormatException)]),
        new("tokenizer",
            () => Golden.Read("tokens.jsonl").Take(200).Select(l => Encoding.UTF8.GetBytes(l.Text)).Append(MemoryMarshal.AsBytes("\ud800x\udc00 a\u0301\u0000\u200b".AsSpan()).ToArray()).ToList(),
            bytes =>
            {
                // Half the inputs as UTF-8 (replacement characters), half as raw UTF-16 (lone surrogates, controls).
                var text = bytes.Length % 2 == 0 && bytes.Length > 0 && bytes[0] % 2 == 0
                    ? new string(MemoryMarshal.Cast<byte, char>(bytes))
                    : Encoding.UTF8.GetString(bytes);
                var tokenizer = Tokenizer.Value;
                var encoding = tokenizer.Encode(text, 64);
                var ids = encoding.Ids;
                if (ids.Length is < 2 or > 64 || ids[0] != tokenizer.TokenToId("[CLS]") || ids[^1] != tokenizer.TokenToId("[SEP]")
                    || ids.Any(id => id < 0 || id >= tokenizer.VocabularySize))
                {
                    throw new InvalidOperationException($"broken encoding of a {text.Length}-char text: {string.Join(",", ids)}");
                }
            },
            []),
        new("sentencepiece-model",
            () => [File.ReadAllBytes(Golden.PathOf(Path.Combine("xlmr", "sentencepiece.bpe.model")))],
            bytes => Bge.Tokenizer.Tokenizer.FromSentencePieceModel(TempFile(bytes, "input.model")).EncodePair("Hello wörld <mask> 東京", "ｶﾞ e\u0323\u0301 \u0000"),
            [typeof(TokenizerFormatException)]),
        new("tokenizer-json",
            () => [SmallTokenizerJson(), Encoding.UTF8.GetBytes(WordPieceTokenizerJson)],
            bytes => Bge.Tokenizer.Tokenizer.FromTokenizerJson(TempFile(bytes, "tokenizer.json")).EncodePair("Hello wörld [SEP] <mask> 東京", "ｶﾞ e\u0323\u0301 \u0000"),
            [typeof(TokenizerFormatException)]),
        new("index",
            () =>
            {
                var index = new EmbeddingIndex("fuzz-model", 4, PoolingMode.Cls);
                index.Add(["a", "bé", "東京"], new Bge.Core.EmbeddingMatrix([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0.6f, 0.8f], 3, 4));
                var path = Path.Combine(Scratch, "seed.bgeindex");
                Directory.CreateDirectory(Scratch);
                index.Save(path);
                return [File.ReadAllBytes(path)];
            },
            bytes => EmbeddingIndex.Load(TempFile(bytes, "input.bgeindex")),
            [typeof(IndexFormatException)]),
    ];

    private static IEnumerable<string> TargetNames() => Targets.Select(t => t.Name);

    [OneTimeTearDown]
    public void DeleteScratch()
    {
        if (Directory.Exists(Scratch))
        {
            Directory.Delete(Scratch, recursive: true);
        }
    }

    [TestCaseSource(nameof(TargetNames))]
    public void OnlyTheDocumentedExceptionsEscapeAndAllocationStaysBounded(string name)
    {
        var target = Targets.Single(t => t.Name == name);
        var seeds = target.Seeds();
        _ = Tokenizer.Value; // loaded before allocation is counted
        foreach (var seed in seeds)
        {
            Assert.That(Fuzzer.Execute(seed, target.Run, target.Allowed), Is.EqualTo(Fuzzer.Outcome.Accepted), $"{name}: a seed must be valid ({Fuzzer.LastCrash?.Message})");
        }

        var result = Fuzzer.Run(name, seeds, target.Run, target.Allowed, seed: name.Length * 7919, Fuzzer.Seconds);
        TestContext.Out.WriteLine($"fuzz {name}: {result.Executions} executions in {Fuzzer.Seconds} s, {result.Refused} refused with the typed exception, {result.Failures.Count} failures");
        Assert.That(result.Executions, Is.GreaterThan(100));
        Assert.That(result.Failures, Is.Empty);
    }

    private static IEnumerable<TestCaseData> CorpusCases() =>
        Targets.SelectMany(t => Directory.Exists(Fuzzer.CorpusOf(t.Name))
            ? Directory.GetFiles(Fuzzer.CorpusOf(t.Name)).Order().Select(f => new TestCaseData(t.Name, Path.GetFileName(f)).SetName($"Corpus {t.Name} {Path.GetFileName(f)}"))
            : []);

    [TestCaseSource(nameof(CorpusCases))]
    public void PastFailuresStayFixed(string name, string file)
    {
        var target = Targets.Single(t => t.Name == name);
        var outcome = Fuzzer.Execute(File.ReadAllBytes(Path.Combine(Fuzzer.CorpusOf(name), file)), target.Run, target.Allowed);
        Assert.That(outcome, Is.AnyOf(Fuzzer.Outcome.Accepted, Fuzzer.Outcome.Refused), Fuzzer.LastCrash?.ToString());
    }
}
