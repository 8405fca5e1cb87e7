using System.Text.Json;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Tests.Weights;

public sealed class ModelDirectoryTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("bge-md-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase(TensorDType.F32)]
    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.BF16)]
    public void LoadsHubNamesWithPrefixGammaBetaAndPooler(TensorDType dtype)
    {
        var config = TinyBert.Config();
        var tensors = TinyBert.Tensors(config);
        tensors["pooler.dense.weight"] = ([16, 16], new float[256]);
        tensors["embeddings.position_ids"] = ([1, 64], new float[64]);
        static string OldNames(string n) => "bert." + n.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta");
        TinyBert.Write(_dir, config, tensors, OldNames, dtype);

        var model = ModelDirectory.Open(_dir);
        using var weights = model.OpenWeights();
        Assert.That(weights.Names.Count(), Is.EqualTo(5 + (16 * 2)));
        var expected = tensors["encoder.layer.1.output.LayerNorm.weight"].Values;
        var actual = weights.Read("encoder.layer.1.output.LayerNorm.weight");
        Assert.That(actual, Is.EqualTo(expected).Within(dtype == TensorDType.F32 ? 0 : 2e-3));
        Assert.That(model.Pooling, Is.EqualTo(PoolingMode.Cls));
        Assert.That(model.PoolingDeclared, Is.False);
    }

    [Test]
    public void AMissingTensorIsNamed()
    {
        var config = TinyBert.Config();
        var tensors = TinyBert.Tensors(config);
        tensors.Remove("encoder.layer.1.attention.self.key.bias");
        TinyBert.Write(_dir, config, tensors);
        var error = Assert.Throws<ModelFormatException>(() => ModelDirectory.Open(_dir).OpenWeights());
        Assert.That(error!.TensorName, Is.EqualTo("encoder.layer.1.attention.self.key.bias"));
        Assert.That(error.Message, Does.Contain("missing"));
    }

    [Test]
    public void ATransposedWeightIsNamedWithBothShapes()
    {
        var config = TinyBert.Config();
        var tensors = TinyBert.Tensors(config);
        tensors["encoder.layer.0.intermediate.dense.weight"] = ([16, 32], tensors["encoder.layer.0.intermediate.dense.weight"].Values);
        TinyBert.Write(_dir, config, tensors);
        var error = Assert.Throws<ModelFormatException>(() => ModelDirectory.Open(_dir).OpenWeights());
        Assert.That(error!.TensorName, Is.EqualTo("encoder.layer.0.intermediate.dense.weight"));
        Assert.That(error.Message, Does.Contain("[16, 32]").And.Contain("[32, 16]"));
    }

    [Test]
    public void AConfigWithFewerLayersThanTheWeightsIsRefused()
    {
        var tensors = TinyBert.Tensors(TinyBert.Config(layers: 3));
        TinyBert.Write(_dir, TinyBert.Config(layers: 2), tensors);
        var error = Assert.Throws<ModelFormatException>(() => ModelDirectory.Open(_dir).OpenWeights());
        Assert.That(error!.TensorName, Does.StartWith("encoder.layer.2."));
    }

    [Test]
    public void ShardedWeightsLoadThroughTheIndex()
    {
        var config = TinyBert.Config();
        var tensors = TinyBert.Tensors(config);
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Take(20), names.Skip(20) };
        var map = new Dictionary<string, string>();
        for (var i = 0; i < 2; i++)
        {
            var file = $"model-0000{i + 1}-of-00002.safetensors";
            SafeTensorsWriter.Write(Path.Combine(_dir, file), shards[i].Select(n => SafeTensorsEntry.FromFloats(n, tensors[n].Shape, tensors[n].Values)));
            shards[i].ToList().ForEach(n => map[n] = file);
        }

        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        var model = ModelDirectory.Open(_dir);
        Assert.That(model.WeightFiles, Has.Count.EqualTo(2));
        using var weights = model.OpenWeights();
        Assert.That(weights.Read(names[25]), Is.EqualTo(tensors[names[25]].Values));
    }

    [Test]
    public void PytorchModelBinIsReadAndModelSafetensorsWinsWhenBothExist()
    {
        var source = Path.Combine(TestPaths.Shared, "golden", "models", "xlmr-m3-tiny-pt");
        File.Copy(Path.Combine(source, "config.json"), Path.Combine(_dir, "config.json"));
        File.Copy(Path.Combine(source, "pytorch_model.bin"), Path.Combine(_dir, "pytorch_model.bin"));
        var model = ModelDirectory.Open(_dir);
        Assert.That(model.WeightFiles, Is.EqualTo(new[] { Path.Combine(_dir, "pytorch_model.bin") }));
        using (var weights = model.OpenWeights())
        {
            Assert.That(weights.Names, Does.Contain("embeddings.word_embeddings.weight").And.Not.Contain("embeddings.position_ids"));
        }

        File.Copy(Path.Combine(TestPaths.Shared, "golden", "models", "xlmr-m3-tiny", "model.safetensors"), Path.Combine(_dir, "model.safetensors"));
        Assert.That(ModelDirectory.Open(_dir).WeightFiles, Is.EqualTo(new[] { Path.Combine(_dir, "model.safetensors") }));
    }

    [Test]
    public void AHostilePytorchModelBinIsRefusedNamingTheGlobalAndNothingRuns()
    {
        var marker = Path.Combine(_dir, "ran");
        File.WriteAllText(Path.Combine(_dir, "config.json"), TinyBert.Config().ToJson());
        Torch.TorchHostileTests.WriteSystemCall(_dir, $"touch {marker}");
        var model = ModelDirectory.Open(_dir);
        var error = Assert.Throws<ModelFormatException>(() => model.OpenWeights().Dispose());
        Assert.That(error!.Message, Does.Contain("GLOBAL 'os.system' is not an allowed global").And.Contain("pytorch_model.bin"));
        Assert.That(File.Exists(marker), Is.False);
    }

    [Test]
    public void NoWeightsAreRefusedNamingWhatWasLookedFor()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), TinyBert.Config().ToJson());
        var error = Assert.Throws<ModelFormatException>(() => ModelDirectory.Open(_dir));
        Assert.That(error!.Message, Does.Contain("no model.safetensors, pytorch_model.bin or index of either"));
    }

    [Test]
    public void ReadsPoolingInstructionAndTokenizerSettings()
    {
        TinyBert.Write(_dir, TinyBert.Config(), TinyBert.Tensors(TinyBert.Config()));
        Directory.CreateDirectory(Path.Combine(_dir, "pool"));
        File.WriteAllText(Path.Combine(_dir, "modules.json"), """[{"idx":1,"name":"1","path":"pool","type":"sentence_transformers.models.Pooling"}]""");
        File.WriteAllText(Path.Combine(_dir, "pool", "config.json"), """{"pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}""");
        File.WriteAllText(Path.Combine(_dir, "config_sentence_transformers.json"), """{"prompts": {"query": "Q: "}}""");
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"do_lower_case": false, "model_max_length": 1000000000000000019884624838656}""");
        var model = ModelDirectory.Open(_dir);
        Assert.That(model.Pooling, Is.EqualTo(PoolingMode.Mean));
        Assert.That(model.PoolingDeclared, Is.True);
        Assert.That(model.QueryInstruction, Is.EqualTo("Q: "));
        Assert.That(model.DoLowerCase, Is.False);
        Assert.That(model.ModelMaxLength, Is.EqualTo(64), "capped by max_position_embeddings");
    }
}
