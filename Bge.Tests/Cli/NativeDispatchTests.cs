using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Bge.Cli;

namespace Bge.Tests.Cli;

/// <summary>
/// The AOT hand-over reads the CPU's x86-64 level from CPUID itself; under the JIT the runtime's own feature checks
/// answer the same question, so the two must agree (run without DOTNET_Enable* switches, which narrow only the latter).
/// </summary>
public sealed class NativeDispatchTests
{
    [Test]
    public void TheCpuLevelFromCpuidAgreesWithTheRuntimesFeatureChecks()
    {
        Assume.That(RuntimeInformation.ProcessArchitecture, Is.EqualTo(Architecture.X64));
        Assume.That(Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("DOTNET_Enable", StringComparison.OrdinalIgnoreCase)), Is.Empty);
        var v3 = Avx2.IsSupported && Fma.IsSupported && Bmi1.IsSupported && Bmi2.IsSupported && Lzcnt.IsSupported; // .NET has no MOVBE class; every AVX2 CPU has it
        var v4 = v3 && Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512CD.IsSupported && Avx512F.VL.IsSupported;
        Assert.That(NativeDispatch.CpuLevel(), Is.EqualTo(v4 ? 4 : v3 ? 3 : 2));
    }
}
