using System.Text.Json;
using Bge.Tests.Core;

namespace Bge.Tests.Cli;

/// <summary><c>bge</c> on XLM-R model directories: the tiny bge-m3-shaped model of ../shared/golden/models.</summary>
public sealed class XlmRobertaCommandTests
{
    private string _dir = "";

    private static string Models => Path.Combine(TestPaths.Shared, "golden", "models");

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "bge-xlmr-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    // The tiny model's files without its weights.
    private void CopyAllButWeights(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Models, folder)).Where(f => !f.EndsWith(".bin", StringComparison.Ordinal) && !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        }
    }

    [Test]
    public void AHostilePytorchModelBinMakesEmbedFailNamingTheGlobalAndNothingRuns()
    {
        CopyAllButWeights("xlmr-m3-tiny-pt");
        var marker = Path.Combine(_dir, "ran");
        Weights.Torch.TorchHostileTests.WriteSystemCall(_dir, $"touch {marker}");
        var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", _dir, "hello");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(error, Does.Contain("GLOBAL 'os.system' is not an allowed global"));
        Assert.That(File.Exists(marker), Is.False);
    }

    /// <summary>
    /// The command-line contract on both weight files: texts as JSON lines in, one vector per line out, Hugging Face's
    /// vectors (tokenizer and encoder together) at the model's own maximum length, 8,192 tokens.
    /// </summary>
    [TestCase("xlmr-m3-tiny", "cls")]
    [TestCase("xlmr-m3-tiny-pt", "mean")]
    public void EmbedWritesTheReferenceVectorsForEveryText(string folder, string pooling)
    {
        var expected = XlmRobertaGoldenTests.ReadExpected();
        var input = Path.Combine(_dir, "in.jsonl");
        var output = Path.Combine(_dir, "out.jsonl");
        File.WriteAllLines(input, expected.Select(e => JsonSerializer.Serialize(e.Text)));
        var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", Path.Combine(Models, folder), "--pooling", pooling,
            "--input", input, "--input-format", "jsonl", "--output", output);
        Assert.That(exit, Is.Zero, error);
        var lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(expected.Count));
        for (var i = 0; i < expected.Count; i++)
        {
            var (cosine, maxAbs) = GoldenEmbeddingTests.Compare(JsonSerializer.Deserialize<float[]>(lines[i]), pooling == "cls" ? expected[i].Dense : expected[i].Mean);
            Assert.That(cosine, Is.GreaterThanOrEqualTo(0.99999), $"text {i}");
            Assert.That(maxAbs, Is.LessThanOrEqualTo(1e-4), $"text {i}");
        }
    }

    [Test]
    public void MaxLengthGoesUpToTheModelsLimitAndNoFurther()
    {
        var model = Path.Combine(Models, "xlmr-m3-tiny");
        var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", model, "--max-length", "8192", "text");
        Assert.That(exit, Is.Zero, error);
        (exit, _, error) = EmbedCommandTests.Run("embed", "--model", model, "--max-length", "8193", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("8193"));
    }
}
