using System.Diagnostics;
using System.Runtime.Intrinsics.X86;

namespace Bge.Tests.Cli;

/// <summary>
/// The int8 kernel a process chooses follows the runtime's switches (a fresh process each: they are read at start),
/// and whichever it is, the vectors are the same bits: the integer sums are exact on every kernel.
/// </summary>
public sealed class Int8KernelSwitchTests
{
    private static readonly string[] Texts = ["I love machine learning and nlp", string.Join(' ', Enumerable.Repeat("a longer text of words to fill more than one strip of rows", 12))];

    // The kernels line `bge embed` prints, and the vectors it writes to a file (a second run: with --output it
    // prints nothing else).
    private static (string Kernels, string Vectors) Embed(params (string Name, string Value)[] environment)
    {
        var output = Path.Combine(Path.GetTempPath(), $"bge-int8-{Guid.NewGuid():N}.jsonl");
        try
        {
            var printed = Run(environment, [.. Texts]);
            Run(environment, ["--output", output, .. Texts]);
            return (printed.Split('\n').First(l => l.StartsWith("kernels", StringComparison.Ordinal)), File.ReadAllText(output));
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static string Run((string Name, string Value)[] environment, string[] arguments, int exitCode = 0)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "bge.dll"), "embed", "--model", TestPaths.Arctic, "--precision", "int8", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // One width for the float kernels in every process (a width sums in its own order), whatever the switches
        // leave in hardware: then only the int8 kernel differs between them.
        start.Environment[Bge.Core.Kernels.Simd.EnvironmentVariable] = "256";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), Is.True, "bge embed finished");
        Assert.That(exitCode == 0 ? process.ExitCode == 0 : process.ExitCode != 0, Is.True, stderr);
        return stdout.Result + stderr;
    }

    [Test]
    public void EveryKernelTheSwitchesLeaveGivesTheSameVectors()
    {
        Assume.That(Avx2.IsSupported, "an x86 host: the switches below are x86's");
        var (kernels, vectors) = Embed();
        var cases = new List<((string, string)[] Environment, string Expected)>
        {
            ([("BGE_INT8_KERNEL", "Scalar")], "scalar"),
        };
        cases.Add(([("BGE_INT8_KERNEL", "Avx2")], "AVX2, 256-bit"));
        cases.Add(([("DOTNET_EnableAVX512", "0"), ("DOTNET_EnableAVXVNNI", "0")], "AVX2, 256-bit"));

        if (Avx512BW.IsSupported)
        {
            // No AVX-VNNI, as on Zen 4 and Xeons before Sapphire Rapids: the 512-bit kernel or AVX2, whichever times faster.
            cases.Add(([("DOTNET_EnableAVXVNNI", "0")], "AVX-512BW, 512-bit|AVX2, 256-bit"));
            cases.Add(([("BGE_INT8_KERNEL", "Avx512Widened")], "AVX-512BW, 512-bit"));
        }

        if (AvxVnni.IsSupported)
        {
            cases.Add(([("BGE_INT8_KERNEL", "AvxVnni")], "AVX-VNNI, 256-bit"));
        }

        // Without hardware intrinsics the int8 products are the scalar loop's; the float kernels then lack FMA and
        // round differently, so only the choice is checked there.
        Assert.That(Embed([("DOTNET_EnableHWIntrinsic", "0")]).Kernels, Does.Contain("int8 products: scalar"));
        foreach (var (environment, expected) in cases)
        {
            var (chosen, same) = Embed(environment);
            var what = string.Join(" ", environment.Select(e => $"{e.Item1}={e.Item2}"));
            Assert.That(expected.Split('|').Any(chosen.Contains), Is.True, $"{what}: expected {expected} in\n{chosen}");
            Assert.That(same, Is.EqualTo(vectors), $"{what}: the same vectors as the default process ({kernels.Split('\n').FirstOrDefault(l => l.StartsWith("kernels", StringComparison.Ordinal))})");
        }
    }

    [Test]
    public void AKernelTheCpuLacksOrANameOfNoneIsRefusedNamingTheVariable()
    {
        var refused = Run([("BGE_INT8_KERNEL", "Avx9")], ["x"], exitCode: 1);
        Assert.That(refused, Does.Contain("BGE_INT8_KERNEL='Avx9'").And.Contain("Scalar"));
    }
}
