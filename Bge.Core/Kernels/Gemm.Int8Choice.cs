using System.Diagnostics;

namespace Bge.Core.Kernels;

/// <summary>
/// Which int8 kernel a process runs. Every kernel gives the same bits (the integer sums are exact), so the choice is
/// speed alone, and speed does not follow from the instruction sets: on an AVX-512 CPU without AVX-VNNI the 512-bit
/// kernel's 16-bit products may or may not beat the 256-bit AVX2 one, depending on how the core executes 512-bit
/// integer multiplies. So the kernels this CPU runs are timed against each other once per process, on operands in L1
/// (about a millisecond), and the fastest is kept; <c>BGE_INT8_KERNEL</c> names one instead (tests and benchmarks).
/// </summary>
public static partial class Gemm
{
    /// <summary>The environment variable that names the int8 kernel for a process: a <see cref="Int8Kernel"/> name, such as <c>Avx2</c>.</summary>
    internal const string Int8KernelVariable = "BGE_INT8_KERNEL";

    private static readonly Lazy<Int8Kernel> Int8Wide = new(() => ChooseInt8Kernel(16));
    private static readonly Lazy<Int8Kernel> Int8Narrow = new(() => ChooseInt8Kernel(8));

    /// <summary>The int8 kernel this process runs for panels of <paramref name="simd"/>: <c>BGE_INT8_KERNEL</c>'s, or the fastest here.</summary>
    /// <exception cref="ArgumentException"><c>BGE_INT8_KERNEL</c> names no kernel, or one that does not run here at that width.</exception>
    internal static Int8Kernel BestInt8Kernel(SimdWidth simd) => Int8PanelWidth(simd) switch
    {
        16 => Int8Wide.Value,
        8 => Int8Narrow.Value,
        _ => Int8Kernel.Scalar,
    };

    /// <summary>
    /// How the int8 kernel this process runs for <paramref name="simd"/> reads in logs: "AVX-VNNI, 256-bit",
    /// "AVX-512BW, 512-bit, 16-bit products", "AVX2, 256-bit", "SSSE3, 128-bit", "SDOT, 128-bit" or "scalar".
    /// </summary>
    /// <exception cref="ArgumentException"><c>BGE_INT8_KERNEL</c> names no kernel, or one that does not run here at that width.</exception>
    public static string DescribeInt8(SimdWidth simd) => BestInt8Kernel(simd) switch
    {
        Int8Kernel.AvxVnni => "AVX-VNNI, 256-bit",
        Int8Kernel.Avx512Widened => "AVX-512BW, 512-bit, 16-bit products",
        Int8Kernel.Avx2 => "AVX2, 256-bit",
        Int8Kernel.Avx2Unsigned => "AVX2, 256-bit, VNNI's arithmetic",
        Int8Kernel.Ssse3 => "SSSE3, 128-bit",
        Int8Kernel.ArmDot => "SDOT, 128-bit",
        _ => "scalar",
    };

    private static Int8Kernel ChooseInt8Kernel(int panelWidth)
    {
        if (Environment.GetEnvironmentVariable(Int8KernelVariable) is { Length: > 0 } named)
        {
            if (!Enum.TryParse<Int8Kernel>(named.Trim(), ignoreCase: true, out var kernel) || !Int8KernelRuns(kernel, panelWidth))
            {
                var runs = Enum.GetValues<Int8Kernel>().Where(k => Int8KernelRuns(k, panelWidth));
                throw new ArgumentException($"{Int8KernelVariable}='{named}' is not an int8 kernel this CPU runs on panels of {panelWidth} columns; use one of {string.Join(", ", runs)}");
            }

            return kernel;
        }

        // Avx2Unsigned is VNNI's arithmetic on AVX2, there to be tested, never faster than Avx2.
        Int8Kernel[] candidates = panelWidth == 16 ? [Int8Kernel.AvxVnni, Int8Kernel.Avx512Widened, Int8Kernel.Avx2] : [Int8Kernel.ArmDot, Int8Kernel.Ssse3];
        var runnable = candidates.Where(k => Int8KernelRuns(k, panelWidth)).ToArray();
        return runnable.Length switch
        {
            0 => Int8Kernel.Scalar,
            1 => runnable[0],
            _ => Fastest(runnable, panelWidth),
        };
    }

    // Each kernel's best time over alternating rounds of calls on one strip pair against one panel 96 groups deep
    // (K = 384); the first round of each only compiles and warms it.
    private static unsafe Int8Kernel Fastest(Int8Kernel[] kernels, int panelWidth)
    {
        const int groups = 96, calls = 64, rounds = 6;
        var strip = new sbyte[2 * Int8StripRows * groups * 4 * sizeof(short)];
        var panel = new sbyte[panelWidth * groups * 4];
        var random = new Random(1);
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(strip.AsSpan()));
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(panel.AsSpan()));
        var sums = new int[panelWidth];
        var acc = new int[2 * Int8StripRows * panelWidth];
        var best = Enumerable.Repeat(double.MaxValue, kernels.Length).ToArray();
        fixed (sbyte* a = strip, w = panel)
        fixed (int* s = sums, c = acc)
        {
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < kernels.Length; i++)
                {
                    var clock = Stopwatch.StartNew();
                    for (var call = 0; call < calls; call++)
                    {
                        MicroKernel(kernels[i], a, groups, w, c, s, panelWidth);
                    }

                    // Per row: the kernels take four or eight rows a call.
                    var perRow = clock.Elapsed.TotalSeconds / KernelRows(kernels[i]);
                    best[i] = round == 0 ? best[i] : Math.Min(best[i], perRow);
                }
            }
        }

        return kernels[Array.IndexOf(best, best.Min())];
    }
}
