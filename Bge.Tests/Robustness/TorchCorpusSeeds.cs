using Bge.Tests.Weights.Torch;

namespace Bge.Tests.Robustness;

/// <summary>
/// The seed checkpoints of the torch fuzz target, built here rather than copied: valid ones in both pickle protocols
/// and both zip layouts, and hostile ones that must stay refused. <see cref="WriteCorpus"/> stores them in
/// <c>corpus/torch/</c>, where <c>FuzzTests.PastFailuresStayFixed</c> runs them on every test run.
/// </summary>
public sealed class TorchCorpusSeeds
{
    internal sealed record Seed(string Name, bool Valid, byte[] Bytes);

    internal static IEnumerable<Seed> Build()
    {
        yield return new("seed-protocol2.pt", true, Small(protocol4: false, zip64: false).Build());
        yield return new("seed-protocol4-zip64.pt", true, Small(protocol4: true, zip64: true).Build());
        yield return new("seed-hostile-os-system.pt", false, Small(false, false).AddRaw("evil", w => w.Global("os", "system").Mark().Str("touch pwned").Raw(0x74).Reduce()).Build());
        yield return new("seed-hostile-inst.pt", false, Small(true, false).AddRaw("evil", w => w.Mark().Str("touch pwned").Raw(0x69).Raw("os\nsystem\n"u8.ToArray())).Build());
    }

    /// <summary>A small state dict: F32, F16 and I64 tensors, one a view at an offset into another's storage.</summary>
    internal static TorchFileBuilder Small(bool protocol4, bool zip64) => new TorchFileBuilder { Protocol4 = protocol4, Zip64 = zip64 }
        .AddFloats("encoder.weight", [3, 4], [.. Enumerable.Range(0, 12).Select(i => i * 0.5f)])
        .Add("encoder.bias", "Half", [4], [0, 0x3c, 0, 0x40, 0, 0xbc, 0, 0xc0])
        .Add("position_ids", "Long", [1, 3], [.. BitConverter.GetBytes(0L), .. BitConverter.GetBytes(1L), .. BitConverter.GetBytes(2L)])
        .Add("row", "Float", "0", [4], [1], offset: 8);

    [Test]
    [Explicit("rewrites the seed files in Bge.Tests/Robustness/corpus/torch")]
    public void WriteCorpus()
    {
        var directory = Fuzzer.CorpusOf("torch");
        Directory.CreateDirectory(directory);
        foreach (var seed in Build())
        {
            File.WriteAllBytes(Path.Combine(directory, seed.Name), seed.Bytes);
        }
    }
}
