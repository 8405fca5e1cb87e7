using System.Text.Json;
using Bge.Cli;
using Bge.Core;
using Bge.Weights;

namespace Bge.Tests.Cli;

public sealed class EmbedCommandTests
{
    internal static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var (previousOut, previousError) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (CliApp.Run(args), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    [Test]
    public void PrintsShapeVectorsAndTheSimilarityMatrix()
    {
        var (exit, output, _) = Run("embed", "--model", TestPaths.Arctic, "embedding", "I love machine learning and nlp");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("embeddings: shape (2, 384)").And.Contain("pooling cls").And.Contain("similarity"));
        var embedder = Bge.Tests.Core.GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        var score = Embedder.Similarity(embedder.Encode(["embedding"]), embedder.Encode(["I love machine learning and nlp"]))[0, 0];
        Assert.That(output, Does.Contain(score.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void PrintsTheKernelWidthAndBgeSimdPicksAnotherOrIsRefusedNamingTheVariable()
    {
        var (exit, output, _) = Run("embed", "--model", TestPaths.Arctic, "embedding");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Contain("kernels: " + Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)));
        var previous = Environment.GetEnvironmentVariable("BGE_SIMD");
        try
        {
            Environment.SetEnvironmentVariable("BGE_SIMD", "128");
            (exit, output, _) = Run("embed", "--model", TestPaths.Arctic, "embedding");
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.Contain("kernels: 128-bit"));
            Environment.SetEnvironmentVariable("BGE_SIMD", "avx9");
            (exit, _, var error) = Run("embed", "--model", TestPaths.Arctic, "embedding");
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Does.Contain("BGE_SIMD='avx9'").And.Contain("512, 256, 128 or scalar"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("BGE_SIMD", previous);
        }
    }

    [Test]
    public void AnUnknownOptionIsRefusedNamingTheClosestAndTextsStartingWithADashGoAfterTheDoubleDash()
    {
        var (exit, output, error) = Run("embed", "--model", TestPaths.Arctic, "--poling", "mean", "some text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty, "nothing embedded");
        Assert.That(error, Does.Contain("bge embed: unknown option '--poling' (did you mean '--pooling'?)"));
        (exit, _, error) = Run("embed", "--model", TestPaths.Arctic, "--fp16", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("unknown option '--fp16'"));
        (exit, _, error) = Run("model", "pull", "--revison", "main", "BAAI/bge-small-en-v1.5");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("bge model pull: unknown option '--revison' (did you mean '--revision'?)"));
        (exit, output, error) = Run("embed", "--model", TestPaths.Arctic, "--", "-literal text", "--also");
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("embeddings: shape (2, 384)").And.Contain("\"-literal text\"").And.Contain("\"--also\""));
    }

    [Test]
    public void FileModeWritesOneVectorPerLineInInputOrderWithTheRequestedOptions()
    {
        var dir = Directory.CreateTempSubdirectory("bge-embed-").FullName;
        try
        {
            string[] texts = ["first line", "a \"quoted\" line\twith a tab", "", "多语言 text"];
            var input = Path.Combine(dir, "in.jsonl");
            var output = Path.Combine(dir, "out.jsonl");
            File.WriteAllLines(input, texts.Select(t => JsonSerializer.Serialize(t)));
            var (exit, _, error) = Run("embed", "--model", "all-MiniLM-L6-v2", "--pooling", "cls", "--no-normalize", "--max-length", "8",
                "--batch-size", "3", "--query", "--input", input, "--input-format", "jsonl", "--output", output);
            Assert.That(exit, Is.Zero, error);
            Assert.That(error, Does.Contain("Cls pooling requested"));
            var embedder = Bge.Tests.Core.GoldenEmbeddingTests.Load("all-MiniLM-L6-v2");
            var expected = embedder.EncodeQueries(texts, new EncodeOptions { Pooling = PoolingMode.Cls, Normalize = false, MaxLength = 8 });
            var lines = File.ReadAllLines(output);
            Assert.That(lines, Has.Length.EqualTo(texts.Length));
            for (var i = 0; i < texts.Length; i++)
            {
                Assert.That(JsonSerializer.Deserialize<float[]>(lines[i]), Is.EqualTo(expected.RowArray(i)).Within(1e-6));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void BadArgumentsGiveAMessageNotACrash()
    {
        var (exit, _, error) = Run("embed", "--model", TestPaths.Arctic, "--max-length", "4000", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("bge:"));
        Assert.That(Run("embed", "--model", TestPaths.Arctic).Exit, Is.EqualTo(1));
    }
}
