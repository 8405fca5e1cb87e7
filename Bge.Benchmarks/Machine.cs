using System.Collections;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Bge.Core.Kernels;

namespace Bge.Benchmarks;

/// <summary>What a benchmark table should say about the host it was measured on, so that two tables can be told apart.</summary>
internal static class Machine
{
    // The runtime's switches that turn instruction sets off (DOTNET_EnableAVX512=0, DOTNET_EnableAVXVNNI=0, …) or
    // cap the vector width, and ours.
    private static readonly string[] NarrowingPrefixes =
        ["DOTNET_EnableHWIntrinsic", "DOTNET_EnableAVX", "DOTNET_EnableSSE", "DOTNET_EnableFMA", "DOTNET_EnableArm", "DOTNET_PreferredVectorBitWidth", Simd.EnvironmentVariable];

    public static string CpuName() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";

    /// <summary>
    /// The header lines: CPU, the instruction sets .NET reports, the kernels ours picks from them, ONNX Runtime's
    /// version, and every environment variable that narrows what .NET or ours uses.
    /// </summary>
    public static IEnumerable<string> Describe(int threads)
    {
        yield return $"CPU: {CpuName()}, {Environment.ProcessorCount} logical CPUs; {threads} threads per engine";
        yield return $"instruction sets .NET reports: {InstructionSets()}";
        var simd = Simd.Default;
        // Internal to Bge.Core: the one call to change if the int8 kernels' chooser is renamed.
        yield return $"ours: kernels at {Simd.Describe(simd)}, int8 kernel {Gemm.BestInt8Kernel(simd)}; ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version} (CPU provider)";
        var narrowing = Narrowing().ToList();
        yield return narrowing.Count == 0
            ? $"environment: nothing set that narrows them (DOTNET_EnableAVX512, DOTNET_EnableAVXVNNI, DOTNET_PreferredVectorBitWidth, DOTNET_EnableHWIntrinsic, {Simd.EnvironmentVariable}, …)"
            : $"environment: {string.Join(", ", narrowing)} (they narrow .NET and ours in every child; ONNX Runtime's own kernels do not read them)";
    }

    private static string InstructionSets()
    {
        (string Name, bool Supported)[] sets = RuntimeInformation.ProcessArchitecture is Architecture.Arm64
            ? [("ArmBase", ArmBase.IsSupported), ("AdvSimd", AdvSimd.IsSupported), ("Dp", Dp.IsSupported)]
            : [("Avx2", Avx2.IsSupported), ("Fma", Fma.IsSupported), ("Avx512F", Avx512F.IsSupported), ("Avx512BW", Avx512BW.IsSupported), ("AvxVnni", AvxVnni.IsSupported)];
        return string.Join(' ', sets.Select(s => $"{s.Name}{(s.Supported ? "+" : "-")}"));
    }

    private static IEnumerable<string> Narrowing() =>
        Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Select(e => ((string)e.Key, e.Value as string ?? ""))
            .Where(e => NarrowingPrefixes.Any(p => e.Item1.StartsWith(p, StringComparison.Ordinal)))
            .OrderBy(e => e.Item1, StringComparer.Ordinal)
            .Select(e => $"{e.Item1}={e.Item2}");
}
