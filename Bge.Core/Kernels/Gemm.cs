using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// C[M × N] = A[M × K] · W + bias, W packed in panels (<see cref="PackedWeight"/>): the product every Linear layer
/// needs (<c>y = x·Wᵀ + b</c> in PyTorch's terms). A register-blocked Vector256 FMA micro-kernel holds a
/// 6-row × 16-column block of C in twelve registers while it walks one panel; leftover rows use a one-row kernel;
/// without SIMD a scalar loop does the same walk. Work is split over threads by tiles of rows × panels.
/// <see cref="Reference"/> is the plain triple loop on the unpacked weight it is tested against.
/// </summary>
public static class Gemm
{
    private const int Width = PackedWeight.PanelWidth;
    private const int BlockRows = 6;
    private const int TileRows = 48;
    private const int TilePanels = 8;

    /// <summary>Whether the Vector256 kernels run (else the scalar loop).</summary>
    public static bool IsVectorized { get; } = Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    /// <summary>Computes <paramref name="c"/> = <paramref name="a"/> · W + bias.</summary>
    /// <param name="a">Input rows, [m × K].</param>
    /// <param name="m">Number of rows.</param>
    /// <param name="weight">The packed weight and bias.</param>
    /// <param name="c">Output rows, [m × N].</param>
    /// <param name="parallelism">Threads to use at most.</param>
    /// <param name="vectorized">Use the SIMD kernels when the CPU has them (false forces the scalar loop).</param>
    public static void Linear(ReadOnlySpan<float> a, int m, PackedWeight weight, Span<float> c, int parallelism, bool vectorized = true)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int k = weight.In, n = weight.Out;
        if (a.Length < m * k || c.Length < m * n)
        {
            throw new ArgumentException($"GEMM shapes disagree: a holds {a.Length} for {m}×{k}, c holds {c.Length} for {m}×{n}");
        }

        var simd = vectorized && IsVectorized;
        var rowTiles = (m + TileRows - 1) / TileRows;
        var panelTiles = (weight.Panels + TilePanels - 1) / TilePanels;
        var tiles = rowTiles * panelTiles;
        unsafe
        {
            fixed (float* pa = a, pc = c, pw = weight.Data, pb = weight.Bias)
            {
                var (ap, cp, wp, bp) = ((nint)pa, (nint)pc, (nint)pw, (nint)pb);
                void Run(int t)
                {
                    var r0 = t / panelTiles * TileRows;
                    var p0 = t % panelTiles * TilePanels;
                    Tile((float*)ap, k, n, (float*)wp, (float*)bp, (float*)cp, r0, Math.Min(m, r0 + TileRows), p0, Math.Min(weight.Panels, p0 + TilePanels), simd);
                }

                if (parallelism <= 1 || tiles == 1)
                {
                    for (var t = 0; t < tiles; t++)
                    {
                        Run(t);
                    }
                }
                else
                {
                    Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, Run);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(float* a, int k, int n, float* w, float* bias, float* c, int r0, int r1, int p0, int p1, bool simd)
    {
        var block = stackalloc float[BlockRows * Width];
        for (var p = p0; p < p1; p++)
        {
            var panel = w + ((long)p * k * Width);
            var col = p * Width;
            var columns = Math.Min(Width, n - col);
            for (var r = r0; r < r1; r += BlockRows)
            {
                var rows = Math.Min(BlockRows, r1 - r);
                var full = columns == Width;
                // A partial last panel is computed into a scratch block, then its valid columns are copied out.
                var target = full ? c + ((long)r * n) + col : block;
                var ldc = full ? n : Width;
                if (!simd)
                {
                    Scalar(a + ((long)r * k), k, rows, panel, bias + col, target, ldc);
                }
                else if (rows == BlockRows)
                {
                    Kernel6x16(a + ((long)r * k), k, panel, bias + col, target, ldc);
                }
                else
                {
                    for (var row = 0; row < rows; row++)
                    {
                        Kernel1x16(a + ((long)(r + row) * k), k, panel, bias + col, target + (row * ldc));
                    }
                }

                if (!full)
                {
                    for (var row = 0; row < rows; row++)
                    {
                        new ReadOnlySpan<float>(block + (row * Width), columns).CopyTo(new Span<float>(c + ((long)(r + row) * n) + col, columns));
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16(float* a, int k, float* w, float* bias, float* c, int ldc)
    {
        var b0 = Vector256.Load(bias);
        var b1 = Vector256.Load(bias + 8);
        Vector256<float> c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1;
        float* a1 = a + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        for (var i = 0; i < k; i++, w += Width)
        {
            var w0 = Vector256.Load(w);
            var w1 = Vector256.Load(w + 8);
            var x = Vector256.Create(a[i]);
            c00 = Vector256.FusedMultiplyAdd(x, w0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, w1, c01);
            x = Vector256.Create(a1[i]);
            c10 = Vector256.FusedMultiplyAdd(x, w0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, w1, c11);
            x = Vector256.Create(a2[i]);
            c20 = Vector256.FusedMultiplyAdd(x, w0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, w1, c21);
            x = Vector256.Create(a3[i]);
            c30 = Vector256.FusedMultiplyAdd(x, w0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, w1, c31);
            x = Vector256.Create(a4[i]);
            c40 = Vector256.FusedMultiplyAdd(x, w0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, w1, c41);
            x = Vector256.Create(a5[i]);
            c50 = Vector256.FusedMultiplyAdd(x, w0, c50);
            c51 = Vector256.FusedMultiplyAdd(x, w1, c51);
        }

        c00.Store(c);
        c01.Store(c + 8);
        c10.Store(c + ldc);
        c11.Store(c + ldc + 8);
        c20.Store(c + (2 * ldc));
        c21.Store(c + (2 * ldc) + 8);
        c30.Store(c + (3 * ldc));
        c31.Store(c + (3 * ldc) + 8);
        c40.Store(c + (4 * ldc));
        c41.Store(c + (4 * ldc) + 8);
        c50.Store(c + (5 * ldc));
        c51.Store(c + (5 * ldc) + 8);
    }

    // One row: two independent accumulator chains per half, so FMA latency does not bind.
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel1x16(float* a, int k, float* w, float* bias, float* c)
    {
        Vector256<float> c0 = Vector256.Load(bias), c1 = Vector256.Load(bias + 8), d0 = default, d1 = default;
        var i = 0;
        for (; i + 1 < k; i += 2, w += 2 * Width)
        {
            var x = Vector256.Create(a[i]);
            var y = Vector256.Create(a[i + 1]);
            c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(w), c0);
            c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(w + 8), c1);
            d0 = Vector256.FusedMultiplyAdd(y, Vector256.Load(w + Width), d0);
            d1 = Vector256.FusedMultiplyAdd(y, Vector256.Load(w + Width + 8), d1);
        }

        if (i < k)
        {
            var x = Vector256.Create(a[i]);
            c0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(w), c0);
            c1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(w + 8), c1);
        }

        (c0 + d0).Store(c);
        (c1 + d1).Store(c + 8);
    }

    private static unsafe void Scalar(float* a, int k, int rows, float* w, float* bias, float* c, int ldc)
    {
        for (var row = 0; row < rows; row++)
        {
            var x = a + ((long)row * k);
            var y = c + ((long)row * ldc);
            for (var j = 0; j < Width; j++)
            {
                y[j] = bias[j];
            }

            for (var i = 0; i < k; i++)
            {
                for (var j = 0; j < Width; j++)
                {
                    y[j] = MathF.FusedMultiplyAdd(x[i], w[(i * Width) + j], y[j]);
                }
            }
        }
    }

    /// <summary>The plain triple loop over PyTorch's [N × K] weight, accumulating in double.</summary>
    public static void Reference(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<float> weight, int n, ReadOnlySpan<float> bias, Span<float> c)
    {
        for (var r = 0; r < m; r++)
        {
            for (var o = 0; o < n; o++)
            {
                double sum = bias[o];
                for (var i = 0; i < k; i++)
                {
                    sum += (double)a[(r * k) + i] * weight[(o * k) + i];
                }

                c[(r * n) + o] = (float)sum;
            }
        }
    }
}
