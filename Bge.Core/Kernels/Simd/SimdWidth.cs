using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>The vector width every kernel of a model uses.</summary>
public enum SimdWidth
{
    /// <summary>Plain scalar code: no SIMD.</summary>
    Scalar = 0,

    /// <summary>Vector128: NEON (AdvSimd) on ARM64, SSE/AVX on x86.</summary>
    Vector128 = 128,

    /// <summary>Vector256 with FMA: AVX2 on x86.</summary>
    Vector256 = 256,

    /// <summary>Vector512: AVX-512 on x86.</summary>
    Vector512 = 512,
}

/// <summary>
/// The one CPU decision: which <see cref="SimdWidth"/> the kernels use. <see cref="Hardware"/> is the widest width
/// this process accelerates (it follows the runtime's own switches, such as <c>DOTNET_EnableAVX512=0</c> or
/// <c>DOTNET_PreferredVectorBitWidth</c>); <see cref="Default"/> is that, or what the <c>BGE_SIMD</c> environment
/// variable asks for. A model takes its width once, at load (<see cref="EmbedderOptions.Simd"/>), and every kernel of
/// its forward pass follows it. A width wider than <see cref="Hardware"/> still computes the same results, through
/// .NET's software implementation of the wider vectors, only more slowly: that is how every path is tested on any host.
/// </summary>
public static class Simd
{
    /// <summary>The environment variable that picks a width for a process: <c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c>.</summary>
    public const string EnvironmentVariable = "BGE_SIMD";

    /// <summary>The widest width this process runs in hardware.</summary>
    public static SimdWidth Hardware { get; } = Detect();

    /// <summary>Whether the CPU fuses multiply and add (x86 FMA, always on ARM64); without it the kernels round the product first.</summary>
    /// <remarks>
    /// Computed on each read, never stored: the JIT folds it to a constant, where a static field read from a kernel
    /// compiled before this class is initialized would leave a class-initialization call inside the kernel's loop.
    /// </remarks>
    internal static bool HasFusedMultiplyAdd => System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;

    /// <summary><see cref="Hardware"/>, or the width <c>BGE_SIMD</c> names.</summary>
    /// <exception cref="ArgumentException"><c>BGE_SIMD</c> holds something else than 512, 256, 128 or scalar.</exception>
    public static SimdWidth Default => FromEnvironment() ?? Hardware;

    /// <summary>Whether <paramref name="width"/> runs in hardware here (else in software, correct but slow).</summary>
    public static bool IsAccelerated(SimdWidth width) => width <= Hardware;

    /// <summary>Parses <c>512</c>, <c>256</c>, <c>128</c> or <c>scalar</c> (also <c>0</c>).</summary>
    /// <exception cref="ArgumentException">The text is none of those.</exception>
    public static SimdWidth Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "512" => SimdWidth.Vector512,
            "256" => SimdWidth.Vector256,
            "128" => SimdWidth.Vector128,
            "scalar" or "0" => SimdWidth.Scalar,
            _ => throw new ArgumentException($"'{text}' is not a SIMD width; use 512, 256, 128 or scalar", nameof(text)),
        };
    }

    /// <summary>How a width reads in logs: "512-bit (AVX-512)", "256-bit (AVX2+FMA)", "128-bit (NEON)", "scalar", with "software" when not accelerated.</summary>
    public static string Describe(SimdWidth width)
    {
        var name = width switch
        {
            SimdWidth.Vector512 => "512-bit (AVX-512)",
            SimdWidth.Vector256 => "256-bit (AVX2+FMA)",
            SimdWidth.Vector128 => System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "128-bit (NEON)" : "128-bit (x86 SSE/AVX)",
            _ => "scalar",
        };
        return IsAccelerated(width) ? name : $"{name}, in software: this CPU accelerates {Describe(Hardware)} at most";
    }

    private static SimdWidth? FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        try
        {
            return Parse(value);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{EnvironmentVariable}='{value}' is not a SIMD width; use 512, 256, 128 or scalar");
        }
    }

    private static SimdWidth Detect()
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return SimdWidth.Vector512;
        }

        // Vector256 without FMA (AVX alone) would run every multiply-add in software: 128 serves such a CPU better.
        if (Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported)
        {
            return SimdWidth.Vector256;
        }

        return Vector128.IsHardwareAccelerated ? SimdWidth.Vector128 : SimdWidth.Scalar;
    }
}
