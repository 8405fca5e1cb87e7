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
}
