using System.Numerics.Tensors;
using System.Text.Json;

namespace Bge.Tests.Cli;

/// <summary>
/// <c>bge embed --dimensions N</c> and <c>--quantize …</c> against the plain float output of the same command, the
/// contract worked out from it: the first N values re-normalized; sign bits packed high bit first; int8/uint8 codes
/// spanning each dimension's [min, max] over the run (or the calibration file).
/// </summary>
public sealed class EmbedCompressionCommandTests
{
    private static readonly string[] Texts = ["tides are caused by the moon", "a recipe for bread", "the moon's gravity pulls the sea", "how to bake sourdough", "ocean currents"];

    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("bge-compress-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private List<T[]> Embed<T>(params string[] extra)
    {
        var input = Path.Combine(_dir, "in.txt");
        File.WriteAllLines(input, Texts);
        var output = Path.Combine(_dir, $"out-{Guid.NewGuid():N}.jsonl");
        var (exit, _, error) = EmbedCommandTests.Run(["embed", "--model", TestPaths.Arctic, "--input", input, "--input-format", "text", "--output", output, .. extra]);
        Assert.That(exit, Is.EqualTo(0), error);
        return [.. File.ReadAllLines(output).Select(l => JsonSerializer.Deserialize<T[]>(l)!)];
    }

    [Test]
    public void DimensionsCutsAndRenormalizes()
    {
        var full = Embed<float>();
        var cut = Embed<float>("--dimensions", "128");
        for (var i = 0; i < Texts.Length; i++)
        {
            var expected = full[i][..128];
            TensorPrimitives.Divide(expected, TensorPrimitives.Norm(expected), expected);
            Assert.That(cut[i], Has.Length.EqualTo(128));
            Assert.That(cut[i], Is.EqualTo(expected).Within(1e-6f));
        }
    }

    [Test]
    public void BinaryFormsAreTheSignBitsOfTheFloatOutput()
    {
        var full = Embed<float>("--dimensions", "64");
        var ubinary = Embed<int>("--dimensions", "64", "--quantize", "ubinary");
        var binary = Embed<int>("--dimensions", "64", "--quantize", "binary");
        for (var i = 0; i < Texts.Length; i++)
        {
            var bits = Enumerable.Range(0, 8).Select(b => Enumerable.Range(0, 8).Aggregate(0, (acc, k) => (acc << 1) | (full[i][(b * 8) + k] > 0 ? 1 : 0))).ToArray();
            Assert.That(ubinary[i], Is.EqualTo(bits));
            Assert.That(binary[i], Is.EqualTo(bits.Select(v => v - 128)));
        }
    }

    [Test]
    public void Int8AndUInt8SpanEachDimensionsRangeOverTheRunOrTheCalibrationFile()
    {
        var full = Embed<float>();
        var uint8 = Embed<int>("--quantize", "uint8");
        var int8 = Embed<int>("--quantize", "int8");
        for (var d = 0; d < full[0].Length; d++)
        {
            var column = full.Select(v => v[d]).ToList();
            var (low, high) = (column.IndexOf(column.Min()), column.IndexOf(column.Max()));
            Assert.That((uint8[low][d], int8[low][d]), Is.EqualTo((0, -128)), $"dimension {d}");
            Assert.That(uint8[high][d], Is.InRange(254, 255), $"dimension {d}: max / step truncated in float32");
            var step = (column.Max() - column.Min()) / 255f;
            for (var i = 0; i < Texts.Length; i++)
            {
                Assert.That(uint8[i][d], Is.EqualTo((int)((full[i][d] - column.Min()) / step)), $"text {i}, dimension {d}");
                Assert.That(int8[i][d], Is.EqualTo((int)(((full[i][d] - column.Min()) / step) - 128f)), $"text {i}, dimension {d}");
            }
        }

        // Calibrated on other embeddings (these texts' own, written by bge embed): the same codes.
        var calibration = Path.Combine(_dir, "calibration.jsonl");
        File.WriteAllLines(calibration, full.Select(v => JsonSerializer.Serialize(v)));
        Assert.That(Embed<int>("--quantize", "int8", "--calibration", calibration), Is.EqualTo(int8));

        var (exit, _, error) = EmbedCommandTests.Run("embed", "--model", TestPaths.Arctic, "--dimensions", "64", "--quantize", "int8", "--calibration", calibration, "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("384 dimensions").And.Contain("have 64"));
        (exit, _, error) = EmbedCommandTests.Run("embed", "--model", TestPaths.Arctic, "--dimensions", "385", "text");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("1 to 384"));
        (exit, _, error) = EmbedCommandTests.Run("embed", "--model", TestPaths.Arctic, "--quantize", "binary", "--calibration", calibration, "text");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--calibration needs --quantize int8 or uint8"));
    }
}
