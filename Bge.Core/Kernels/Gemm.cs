using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// C[M × N] = A[M × K] · W + bias, W packed in panels (<see cref="PackedWeight"/>): the product every Linear layer
/// needs (<c>y = x·Wᵀ + b</c> in PyTorch's terms).
/// <para>
/// Blocking, from the outside in: threads take tiles of up to 72 rows × all panels (as few row tiles as
/// possible, since each streams all of W once; the panels are split too only when there are too few row tiles
/// for the threads); a tile walks K in chunks of 256 (a tile of at most 18 rows, a short text, takes K whole, so
/// each panel streams from memory front to back), packing its rows of A for the chunk into 6-row strips
/// ([k × 6], so the kernel's broadcasts read one stream); for each panel the chunk of W (256 × 16 floats, 16 KB)
/// stays in L1 while every strip passes over it. The
/// micro-kernel holds a 6 × 16 block of C in twelve Vector256 registers and does twelve FMAs per two loads of W.
/// Edges (fewer than 6 rows or 16 columns) run the same kernel on a zero-padded scratch block. Without SIMD a
/// scalar kernel does the same walk. The split depends only on the shapes, so results do not depend on the
/// number of threads. <see cref="Reference"/> is the plain triple loop on the unpacked weight it is tested against.
/// </para>
/// </summary>
public static class Gemm
{
    /// <summary>What is applied to each finished tile of C while it is still in cache.</summary>
    public enum Epilogue
    {
        /// <summary>Nothing: C = A·W + bias.</summary>
        None,

        /// <summary>GELU (erf form): C = gelu(A·W + bias), as BertIntermediate needs.</summary>
        Gelu,
    }

    private const int Width = PackedWeight.PanelWidth;
    private const int Strip = 6;
    private const int MaxTileRows = 12 * Strip;
    private const int DepthChunk = 256;
    private const int PackedFloats = 64 * 1024;

    // How far ahead of its reads in W the kernel asks for the next lines: when W comes from memory (a few rows,
    // every panel read once) the hardware prefetcher alone leaves the kernel waiting.
    private const int PrefetchAhead = 512;

    [ThreadStatic]
    private static float[]? _packedA;

    /// <summary>Whether the Vector256 kernel runs (else the scalar one).</summary>
    public static bool IsVectorized { get; } = Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    /// <summary>Computes <paramref name="c"/> = <paramref name="a"/> · W + bias.</summary>
    /// <param name="a">Input rows, [m × K].</param>
    /// <param name="m">Number of rows.</param>
    /// <param name="weight">The packed weight and bias.</param>
    /// <param name="c">Output rows, [m × N].</param>
    /// <param name="parallelism">Threads to use at most.</param>
    /// <param name="vectorized">Use the SIMD kernel when the CPU has it (false forces the scalar one).</param>
    /// <param name="epilogue">What to apply to the result, tile by tile.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Linear(ReadOnlySpan<float> a, int m, PackedWeight weight, Span<float> c, int parallelism, bool vectorized = true, Epilogue epilogue = Epilogue.None)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int k = weight.In, n = weight.Out;
        if (m < 0 || a.Length < m * k || c.Length < m * n)
        {
            throw new ArgumentException($"GEMM shapes disagree: a holds {a.Length} for {m}×{k}, c holds {c.Length} for {m}×{n}");
        }

        unsafe
        {
            fixed (float* pa = a, pc = c, pw = weight.Data, pb = weight.Bias)
            {
                Multiply(pa, k, m, k, pw, pb, n, pc, n, parallelism, vectorized && IsVectorized, epilogue);
            }
        }
    }

    /// <summary>
    /// The general form: C (row stride <paramref name="ldc"/>) = A (row stride <paramref name="lda"/>) · panels + bias,
    /// where <paramref name="panels"/> holds ⌈n/16⌉ zero-padded panels of [k × 16] and <paramref name="bias"/> ⌈n/16⌉·16 values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Multiply(float* a, int lda, int m, int k, float* panels, float* bias, int n, float* c, int ldc, int parallelism, bool simd, Epilogue epilogue = Epilogue.None)
    {
        var panelCount = (n + Width - 1) / Width;
        var (rowTiles, tileRows) = RowTiles(m, parallelism);
        // A tile packs its rows of A once and walks every panel; only when there are too few row tiles to keep
        // the threads busy are the panels split too, each part packing the same rows again.
        var panelTiles = parallelism <= 1 ? 1 : Math.Min(panelCount, Math.Max(1, ((2 * parallelism) + rowTiles - 1) / rowTiles));
        var panelsPerTile = (panelCount + panelTiles - 1) / panelTiles;
        var tiles = rowTiles * panelTiles;
        var (ap, cp, wp, bp) = ((nint)a, (nint)c, (nint)panels, (nint)bias);
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Run(int t)
        {
            var r0 = t / panelTiles * tileRows;
            var p0 = t % panelTiles * panelsPerTile;
            var (r1, p1) = (Math.Min(m, r0 + tileRows), Math.Min(panelCount, p0 + panelsPerTile));
            Tile((float*)ap, lda, k, n, (float*)wp, (float*)bp, (float*)cp, ldc, r0, r1, p0, p1, simd);
            if (epilogue == Epilogue.Gelu)
            {
                var (c0, c1) = (p0 * Width, Math.Min(n, p1 * Width));
                for (var row = r0; row < r1; row++)
                {
                    Kernels.Gelu.InPlace(new Span<float>((float*)cp + ((long)row * ldc) + c0, c1 - c0));
                }
            }
        }

        if (parallelism <= 1 || tiles <= 1)
        {
            for (var t = 0; t < tiles; t++)
            {
                Run(t);
            }
        }
        else
        {
            WorkerTeam.For(tiles, parallelism, Run);
        }
    }

    // As few row tiles as fit MaxTileRows (each tile streams all of W once, so fewer tiles read W fewer times),
    // their count a multiple of the threads when there are enough rows, their size a multiple of the strip.
    private static (int Count, int Rows) RowTiles(int m, int parallelism)
    {
        var count = Math.Max(1, (m + MaxTileRows - 1) / MaxTileRows);
        if (parallelism > 1 && count >= parallelism)
        {
            count = (count + parallelism - 1) / parallelism * parallelism;
        }

        var rows = ((m + count - 1) / count + Strip - 1) / Strip * Strip;
        return ((m + rows - 1) / rows, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(float* a, int lda, int k, int n, float* w, float* bias, float* c, int ldc, int r0, int r1, int p0, int p1, bool simd)
    {
        var strips = (r1 - r0 + Strip - 1) / Strip;
        var packed = _packedA ??= new float[PackedFloats];
        var edge = stackalloc float[Strip * Width];
        // A few rows (a short text) take K whole: each panel of W is then read once, front to back, which is what
        // the hardware prefetcher streams fastest from memory, where those weights are when batches are small.
        var chunk = strips <= 3 && strips * Strip * k <= PackedFloats ? k : DepthChunk;
        fixed (float* pack = packed)
        {
            for (var k0 = 0; k0 < k; k0 += chunk)
            {
                var depth = Math.Min(chunk, k - k0);
                PackA(a, lda, r0, r1, k0, depth, pack);
                for (var p = p0; p < p1; p++)
                {
                    var panel = w + ((long)p * k * Width) + ((long)k0 * Width);
                    var col = p * Width;
                    var columns = Math.Min(Width, n - col);
                    for (var s = 0; s < strips; s++)
                    {
                        var row = r0 + (s * Strip);
                        var rows = Math.Min(Strip, r1 - row);
                        var strip = pack + (s * depth * Strip);
                        var target = c + ((long)row * ldc) + col;
                        if (rows == Strip && columns == Width)
                        {
                            // The first chunk starts from the bias (stride 0: the same row for all six); later ones from C.
                            Kernel(simd, strip, depth, panel, target, ldc, k0 == 0 ? bias + col : target, k0 == 0 ? 0 : ldc);
                            continue;
                        }

                        new Span<float>(edge, Strip * Width).Clear();
                        for (var r = 0; r < rows; r++)
                        {
                            new ReadOnlySpan<float>(k0 == 0 ? bias + col : target + ((long)r * ldc), columns).CopyTo(new Span<float>(edge + (r * Width), columns));
                        }

                        Kernel(simd, strip, depth, panel, edge, Width, edge, Width);
                        for (var r = 0; r < rows; r++)
                        {
                            new ReadOnlySpan<float>(edge + (r * Width), columns).CopyTo(new Span<float>(target + ((long)r * ldc), columns));
                        }
                    }
                }
            }
        }
    }

    // Rows r0..r1 of A, columns k0..k0+depth, as strips of [depth × 6]; rows past r1 are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackA(float* a, int lda, int r0, int r1, int k0, int depth, float* pack)
    {
        var strips = (r1 - r0 + Strip - 1) / Strip;
        for (var s = 0; s < strips; s++)
        {
            var strip = pack + (s * depth * Strip);
            for (var r = 0; r < Strip; r++)
            {
                var row = r0 + (s * Strip) + r;
                if (row >= r1)
                {
                    for (var i = 0; i < depth; i++)
                    {
                        strip[(i * Strip) + r] = 0;
                    }

                    continue;
                }

                var source = a + ((long)row * lda) + k0;
                for (var i = 0; i < depth; i++)
                {
                    strip[(i * Strip) + r] = source[i];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Kernel(bool simd, float* a, int depth, float* w, float* c, int ldc, float* init, int ldi)
    {
        if (simd)
        {
            Kernel6x16(a, depth, w, c, ldc, init, ldi);
        }
        else
        {
            KernelScalar(a, depth, w, c, ldc, init, ldi);
        }
    }

    // C[6 × 16] = init + strip · panel. Not inlined: on its own it keeps every pointer in a register.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16(float* a, int depth, float* w, float* c, int ldc, float* init, int ldi)
    {
        Vector256<float> c00 = Vector256.Load(init), c01 = Vector256.Load(init + 8);
        Vector256<float> c10 = Vector256.Load(init + ldi), c11 = Vector256.Load(init + ldi + 8);
        Vector256<float> c20 = Vector256.Load(init + (2 * ldi)), c21 = Vector256.Load(init + (2 * ldi) + 8);
        Vector256<float> c30 = Vector256.Load(init + (3 * ldi)), c31 = Vector256.Load(init + (3 * ldi) + 8);
        Vector256<float> c40 = Vector256.Load(init + (4 * ldi)), c41 = Vector256.Load(init + (4 * ldi) + 8);
        Vector256<float> c50 = Vector256.Load(init + (5 * ldi)), c51 = Vector256.Load(init + (5 * ldi) + 8);
        for (var i = 0; i < depth; i++, a += Strip, w += Width)
        {
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            {
                // A hint only: it never faults, also when it points past the end of the panels.
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(w + PrefetchAhead);
            }

            var w0 = Vector256.Load(w);
            var w1 = Vector256.Load(w + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, w0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, w1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(x, w0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, w1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(x, w0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, w1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(x, w0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, w1, c31);
            x = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(x, w0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, w1, c41);
            x = Vector256.Create(a[5]);
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

    // The same block, one multiply-add at a time, in the same order as the SIMD kernel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelScalar(float* a, int depth, float* w, float* c, int ldc, float* init, int ldi)
    {
        var block = stackalloc float[Strip * Width];
        for (var r = 0; r < Strip; r++)
        {
            for (var j = 0; j < Width; j++)
            {
                block[(r * Width) + j] = init[(r * ldi) + j];
            }
        }

        for (var i = 0; i < depth; i++)
        {
            for (var r = 0; r < Strip; r++)
            {
                for (var j = 0; j < Width; j++)
                {
                    block[(r * Width) + j] = MathF.FusedMultiplyAdd(a[(i * Strip) + r], w[(i * Width) + j], block[(r * Width) + j]);
                }
            }
        }

        for (var r = 0; r < Strip; r++)
        {
            for (var j = 0; j < Width; j++)
            {
                c[(r * ldc) + j] = block[(r * Width) + j];
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
