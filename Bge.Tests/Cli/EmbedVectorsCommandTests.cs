using System.Text.Json;
using Bge.Core;

namespace Bge.Tests.Cli;

/// <summary>
/// <c>bge embed --vectors dense,sparse,colbert</c> on the tiny bge-m3-style model: one JSON object per text with only
/// the kinds asked for, the very values the library computes (themselves checked against the float64 reference in
/// M3OutputsGoldenTests); without <c>--vectors</c> the plain array per line as before.
/// </summary>
public sealed class EmbedVectorsCommandTests
{
    private static string Model => Path.Combine(TestPaths.Shared, "golden", "models", "xlmr-m3-tiny");

    private static readonly string[] Texts = ["BGE M3 is an embedding model.", "Привет, как дела?", ""];

    private static string InputFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bge-vectors-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, Texts.Select(t => JsonSerializer.Serialize(t)));
        return file;
    }

    [Test]
    public void EachTextIsOneObjectWithTheKindsAskedForInOrder()
    {
        var input = InputFile();
        var output = input + ".out";
        try
        {
            var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", Model, "--vectors", "dense,sparse,colbert", "--input", input, "--input-format", "jsonl", "--output", output);
            Assert.That(exit, Is.EqualTo(0), error);
            var lines = File.ReadAllLines(output);
            Assert.That(lines, Has.Length.EqualTo(Texts.Length));
            var expected = Embedder.Load(Model).EncodeOutputs(Texts, EncoderOutputs.Dense | EncoderOutputs.Sparse | EncoderOutputs.ColBert);
            for (var i = 0; i < lines.Length; i++)
            {
                using var document = JsonDocument.Parse(lines[i]);
                var root = document.RootElement;
                Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "dense", "sparse", "colbert" }));
                Assert.That(root.GetProperty("dense").EnumerateArray().Select(v => v.GetSingle()), Is.EqualTo(expected.Dense!.RowArray(i)));
                var sparse = root.GetProperty("sparse").EnumerateObject().ToList();
                Assert.That(sparse.Select(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(expected.Sparse![i].Ids));
                Assert.That(sparse.Select(p => p.Value.GetSingle()), Is.EqualTo(expected.Sparse[i].Weights));
                var colbert = root.GetProperty("colbert").EnumerateArray().ToList();
                Assert.That(colbert, Has.Count.EqualTo(expected.ColBert![i].Count));
                Assert.That(colbert.SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())), Is.EqualTo(expected.ColBert[i].Data));
            }

            Assert.That(EmbedCommandTests.Run("embed", "--model", Model, "--vectors", "sparse", "--input", input, "--input-format", "jsonl", "--output", output).Exit, Is.EqualTo(0));
            Assert.That(File.ReadAllLines(output).Select(l => string.Join(",", JsonDocument.Parse(l).RootElement.EnumerateObject().Select(p => p.Name))), Is.All.EqualTo("sparse"));

            Assert.That(EmbedCommandTests.Run("embed", "--model", Model, "--input", input, "--input-format", "jsonl", "--output", output).Exit, Is.EqualTo(0));
            Assert.That(File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.ValueKind), Is.All.EqualTo(JsonValueKind.Array), "without --vectors: a plain array per line");
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }

    [Test]
    public void UnknownKindsAndHeadsTheModelLacksAreNamed()
    {
        var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", Model, "--vectors", "dense,lexical", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("'lexical'"));

        var reranker = Path.Combine(TestPaths.Shared, "golden", "models", "xlmr-reranker-tiny");
        (exit, _, error) = EmbedCommandTests.Run("embed", "--model", reranker, "--vectors", "colbert", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("colbert_linear.pt"));
    }

    [Test]
    public void AnEightThousandTokenTextsColBertVectorsAreWrittenWhole()
    {
        var text = string.Join(' ', Enumerable.Repeat("late interaction over long passages", 3000));
        var (exit, output, error) = EmbedCommandTests.Run("embed", "--model", Model, "--vectors", "colbert,sparse", "--batch-size", "1", text, "short");
        Assert.That(exit, Is.EqualTo(0), error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        var expected = Embedder.Load(Model).EncodeOutputs([text, "short"], EncoderOutputs.ColBert);
        Assert.That(expected.ColBert![0].Count, Is.EqualTo(8191), "cut at the model's 8,192 tokens");
        for (var i = 0; i < 2; i++)
        {
            using var document = JsonDocument.Parse(lines[i]);
            Assert.That(document.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "sparse", "colbert" }), "kinds in dense, sparse, colbert order");
            var colbert = document.RootElement.GetProperty("colbert");
            Assert.That(colbert.GetArrayLength(), Is.EqualTo(expected.ColBert[i].Count));
            Assert.That(colbert.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())), Is.EqualTo(expected.ColBert[i].Data));
        }
    }
}
