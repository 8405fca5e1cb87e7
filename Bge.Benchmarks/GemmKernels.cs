using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Bge.Core;
using Bge.Core.Kernels;

namespace Bge.Benchmarks;

/// <summary>
/// <c>kernels [--threads N] [--seconds S] [--shapes MxKxN,…]</c>: the GEMM alone at the encoder's shapes, fp32 at the kernels' width
/// beside every int8 kernel this CPU runs, in GOP/s (a multiply-add counts two), each the median of alternating rounds.
/// The process itself picks its int8 kernel by timing the micro-kernels alone (<see cref="Gemm.BestInt8Kernel"/>); this
/// shows what each gives in the whole GEMM, quantization and dequantization included.
/// </summary>
internal static class GemmKernels
{
    /// <summary>M × K × N: arctic-xs's attention projections and feed-forward at 8×128 and 32×128 tokens, and one short text.</summary>
    public static readonly (int M, int K, int N)[] Shapes = [(1024, 384, 384), (1024, 384, 1536), (1024, 1536, 384), (4096, 384, 1536), (16, 384, 1536), (512, 768, 3072)];

    public static int Run(int threads, double seconds, (int M, int K, int N)[] shapes)
    {
        var simd = Simd.Default;
        Console.WriteLine($"GEMM alone, {threads} threads, {Machine.CpuName()}, fp32 at {Simd.Describe(simd)}; int8 chosen here: {Gemm.BestInt8Kernel(simd)}");
        var kernels = Enum.GetValues<Gemm.Int8Kernel>().Where(k => k != Gemm.Int8Kernel.Scalar && Gemm.Int8KernelRuns(k, Gemm.Int8PanelWidth(simd))).ToArray();
        Console.WriteLine($"| {"M×K×N",-16} | {"fp32",8} | {string.Join(" | ", kernels.Select(k => $"{k,14}"))} |  GOP/s");
        foreach (var (m, k, n) in shapes)
        {
            var c = new Case(m, k, n, simd);
            var actions = new List<Action> { () => Gemm.Linear(c.A, m, c.Fp32, c.C, threads) };
            actions.AddRange(kernels.Select(kernel => (Action)(() => Gemm.LinearInt8(c.A, m, c.Int8, c.C, threads, Gemm.Epilogue.None, kernel))));
            var times = Compare.SideBySide([.. actions], seconds * actions.Count, rounds: 5);
            var rates = times.Select(t => 2.0 * m * k * n / t / 1e9).ToArray();
            Console.WriteLine($"| {$"{m}×{k}×{n}",-16} | {rates[0].ToString("F0", CultureInfo.InvariantCulture),8} | {string.Join(" | ", rates.Skip(1).Select(r => $"{r.ToString("F0", CultureInfo.InvariantCulture),14}"))} |");
        }

        MicroKernels(kernels, seconds);
        return 0;
    }

    // Each micro-kernel alone on one thread, its operands in L1 (one call's strips against one panel, 96 groups deep, as at
    // K = 384): the rate the inner loop reaches without the GEMM around it.
    private static unsafe void MicroKernels(Gemm.Int8Kernel[] kernels, double seconds)
    {
        const int groups = 96;
        var a = new sbyte[2 * Gemm.Int8StripRows * groups * 4 * 2];
        var w = new sbyte[16 * groups * 4];
        var sums = new int[16];
        var acc = new int[2 * Gemm.Int8StripRows * 16];
        new Random(5).NextBytes((byte[])(object)a);
        new Random(6).NextBytes((byte[])(object)w);
        var runs = kernels.Where(k => Gemm.Int8PanelWidth(Simd.Default) == 16 && k is not Gemm.Int8Kernel.Ssse3 and not Gemm.Int8Kernel.ArmDot).ToArray();
        var actions = runs.Select(kernel => (Action)(() =>
        {
            fixed (sbyte* pa = a, pw = w)
            fixed (int* ps = sums, pacc = acc)
            {
                for (var i = 0; i < 1000; i++)
                {
                    Gemm.MicroKernel(kernel, pa, groups, pw, pacc, ps);
                }
            }
        })).ToArray();
        var times = Compare.SideBySide(actions, seconds * actions.Length, rounds: 5);
        Console.WriteLine($"micro-kernel alone, 1 thread, operands in L1, GOP/s: {string.Join(", ", runs.Select((k, i) => $"{k} {(2.0 * 1000 * groups * 4 * 16 * Gemm.KernelRows(k) / times[i] / 1e9).ToString("F0", CultureInfo.InvariantCulture)}"))}");
    }

    /// <summary>Random operands of one shape, packed at fp32 and int8.</summary>
    internal sealed class Case
    {
        public Case(int m, int k, int n, SimdWidth simd)
        {
            var random = new Random(m + k + n);
            A = [.. Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f)];
            var weight = Enumerable.Range(0, n * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            Fp32 = new PackedWeight(weight, new float[n], n, k, simd);
            Int8 = new PackedWeight(weight, new float[n], n, k, simd, Precision.Int8);
            C = new float[m * n];
        }

        public float[] A { get; }

        public PackedWeight Fp32 { get; }

        public PackedWeight Int8 { get; }

        public float[] C { get; }
    }
}

/// <summary>The GEMM alone, fp32 and each int8 kernel (by name), at the encoder's shapes, all threads.</summary>
public class GemmBenchmarks
{
    private GemmKernels.Case _case = null!;
    private int _m;

    /// <summary>M×K×N.</summary>
    [Params("1024x384x1536", "1024x1536x384", "16x384x1536")]
    public string Shape { get; set; } = "";

    /// <summary>fp32, or an int8 kernel's name (skipped where this CPU lacks it).</summary>
    [Params("Fp32", "Avx2", "AvxVnni", "Avx512Widened", "Ssse3", "ArmDot")]
    public string Kernel { get; set; } = "";

    /// <summary>Packs the operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        _m = parts[0];
        _case = new GemmKernels.Case(parts[0], parts[1], parts[2], Simd.Default);
        if (Kernel != "Fp32" && !Core.Kernels.Gemm.Int8KernelRuns(Enum.Parse<Core.Kernels.Gemm.Int8Kernel>(Kernel), _case.Int8.PanelWidth))
        {
            // BenchmarkDotNet reports the case as failed and goes on to the next.
            throw new NotSupportedException($"the {Kernel} int8 kernel does not run on this CPU at {Simd.Describe(Simd.Default)}");
        }
    }

    /// <summary>One GEMM.</summary>
    [Benchmark]
    public void Gemm()
    {
        if (Kernel == "Fp32")
        {
            Core.Kernels.Gemm.Linear(_case.A, _m, _case.Fp32, _case.C, Environment.ProcessorCount);
        }
        else
        {
            Core.Kernels.Gemm.LinearInt8(_case.A, _m, _case.Int8, _case.C, Environment.ProcessorCount, Core.Kernels.Gemm.Epilogue.None, Enum.Parse<Core.Kernels.Gemm.Int8Kernel>(Kernel));
        }
    }
}
