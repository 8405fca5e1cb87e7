using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// C[M × N] = A[M × K] · W + bias, W packed in panels (<see cref="PackedWeight"/>): the product every Linear layer
/// needs (<c>y = x·Wᵀ + b</c> in PyTorch's terms).
/// <para>
/// Blocking, from the outside in: threads take tiles of up to 72 rows × all panels (as few row tiles as
/// possible, since each streams all of W once; the panels are split too only when there are too few row tiles
/// for the threads); a tile walks K in chunks of 16 KB of panel (a tile of at most three strips, a short text, takes
/// K whole, so each panel streams from memory front to back), packing its rows of A for the chunk into strips of
/// <see cref="StripRows"/> rows ([k × rows], so the kernel's broadcasts read one stream); for each panel the chunk
/// of W stays in L1 while every strip passes over it. The micro-kernel (<c>Gemm.MicroKernel.cs</c>) holds a strip ×
/// two-vector block of C in registers. Edges (fewer rows or columns) run the same kernel on a zero-padded scratch
/// block. The walk is the same at every width; only the vector type, and so the panel and strip sizes, differ. Each
/// element of C is its bias plus the products added one k at a time, so every width, the scalar path included, gives
/// the same bits, whatever the number of threads. Bfloat16 panels are widened to float as the kernel loads them
/// (exact), so a bf16 weight gives the same bits as the fp32 weight it rounds to. <see cref="Reference"/> is the plain
/// triple loop on the unpacked weight it is tested against. Int8 weights take their own path (<c>Gemm.Int8.cs</c>).
/// </para>
/// </summary>
public static partial class Gemm
{
    /// <summary>What is applied to each finished tile of C while it is still in cache.</summary>
    public enum Epilogue
    {
        /// <summary>Nothing: C = A·W + bias.</summary>
        None,

        /// <summary>GELU (erf form): C = gelu(A·W + bias), as Intermediate needs.</summary>
        Gelu,
    }

    private const int MaxTileRows = 72;
    private const int ChunkFloats = 4096;
    private const int MaxDepthChunk = 512;
    private const int PackedFloats = 64 * 1024;

    [ThreadStatic]
    private static float[]? _packedA;

    /// <summary>Output columns per weight panel at <paramref name="simd"/>: two vectors (two floats on the scalar path).</summary>
    public static int PanelWidth(SimdWidth simd) => simd switch
    {
        SimdWidth.Vector512 => 2 * Vec512.Count,
        SimdWidth.Vector256 => 2 * Vec256.Count,
        SimdWidth.Vector128 => 2 * Vec128.Count,
        _ => 2 * Vec1.Count,
    };

    /// <summary>Rows of A per micro-kernel call at <paramref name="simd"/>.</summary>
    public static int StripRows(SimdWidth simd) => simd switch
    {
        SimdWidth.Vector512 => Strip<Vec512>(),
        SimdWidth.Vector256 => Strip<Vec256>(),
        SimdWidth.Vector128 => Strip<Vec128>(),
        _ => Strip<Vec1>(),
    };

    /// <summary>Computes <paramref name="c"/> = <paramref name="a"/> · W + bias at the weight's width.</summary>
    /// <param name="a">Input rows, [m × K].</param>
    /// <param name="m">Number of rows.</param>
    /// <param name="weight">The packed weight and bias.</param>
    /// <param name="c">Output rows, [m × N].</param>
    /// <param name="parallelism">Threads to use at most.</param>
    /// <param name="epilogue">What to apply to the result, tile by tile.</param>
    public static unsafe void Linear(ReadOnlySpan<float> a, int m, PackedWeight weight, Span<float> c, int parallelism, Epilogue epilogue = Epilogue.None)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int k = weight.In, n = weight.Out;
        if (m < 0 || a.Length < (long)m * k || c.Length < (long)m * n)
        {
            throw new ArgumentException($"GEMM shapes disagree: a holds {a.Length} for {m}×{k}, c holds {c.Length} for {m}×{n}");
        }

        if (weight.Precision == Precision.Int8)
        {
            LinearInt8(a, m, weight, c, parallelism, epilogue);
            return;
        }

        fixed (float* pa = a, pc = c, pw = weight.Data, pb = weight.Bias)
        fixed (ushort* ph = weight.BFloat16)
        {
            var bf16 = weight.Precision == Precision.Bf16;
            var operands = new Operands(pa, k, m, k, bf16 ? ph : pw, pb, n, pc, n);
            switch (weight.Simd, bf16)
            {
                case (SimdWidth.Vector512, false):
                    Multiply<Vec512, float>(operands, parallelism, epilogue);
                    break;
                case (SimdWidth.Vector512, true):
                    Multiply<Vec512, ushort>(operands, parallelism, epilogue);
                    break;
                case (SimdWidth.Vector256, false):
                    Multiply<Vec256, float>(operands, parallelism, epilogue);
                    break;
                case (SimdWidth.Vector256, true):
                    Multiply<Vec256, ushort>(operands, parallelism, epilogue);
                    break;
                case (SimdWidth.Vector128, false):
                    Multiply<Vec128, float>(operands, parallelism, epilogue);
                    break;
                case (SimdWidth.Vector128, true):
                    Multiply<Vec128, ushort>(operands, parallelism, epilogue);
                    break;
                case (_, false):
                    Multiply<Vec1, float>(operands, parallelism, epilogue);
                    break;
                default:
                    Multiply<Vec1, ushort>(operands, parallelism, epilogue);
                    break;
            }
        }
    }

    /// <summary>
    /// The operands: A (m × k, row stride lda), ⌈n/panel⌉ zero-padded panels of [k × panel width] (float or
    /// bfloat16) and their padded bias, C (m × n, row stride ldc).
    /// </summary>
    private readonly unsafe struct Operands(float* a, int lda, int m, int k, void* panels, float* bias, int n, float* c, int ldc)
    {
        public readonly float* A = a;
        public readonly int Lda = lda;
        public readonly int M = m;
        public readonly int K = k;
        public readonly void* Panels = panels;
        public readonly float* Bias = bias;
        public readonly int N = n;
        public readonly float* C = c;
        public readonly int Ldc = ldc;
    }

    private static unsafe void Multiply<V, TW>(Operands o, int parallelism, Epilogue epilogue)
        where V : unmanaged, IVector<V>
        where TW : unmanaged
    {
        parallelism = WorkerTeam.ThreadsFor((long)o.M * o.K * o.N, parallelism);
        var width = 2 * V.Count;
        var panelCount = (o.N + width - 1) / width;
        // Tiles take K whole (see Tile), so their rows are capped to what the packing buffer holds at this depth.
        var strip = Strip<V>();
        var (rowTiles, tileRows) = RowTiles(o.M, strip, parallelism, Math.Max(strip, Math.Min(MaxTileRows, PackedFloats / o.K / strip * strip)));
        // A tile packs its rows of A once and walks every panel; only when there are too few row tiles to keep
        // the threads busy are the panels split too, each part packing the same rows again.
        var panelTiles = parallelism <= 1 ? 1 : Math.Min(panelCount, Math.Max(1, ((2 * parallelism) + rowTiles - 1) / rowTiles));
        var panelsPerTile = (panelCount + panelTiles - 1) / panelTiles;
        var tiles = rowTiles * panelTiles;
        void Run(int t)
        {
            var r0 = t / panelTiles * tileRows;
            var p0 = t % panelTiles * panelsPerTile;
            var (r1, p1) = (Math.Min(o.M, r0 + tileRows), Math.Min(panelCount, p0 + panelsPerTile));
            Tile<V, TW>(o, r0, r1, p0, p1);
            if (epilogue == Epilogue.Gelu)
            {
                var (c0, c1) = (p0 * width, Math.Min(o.N, p1 * width));
                for (var row = r0; row < r1; row++)
                {
                    Kernels.Gelu.InPlace(o.C + ((long)row * o.Ldc) + c0, c1 - c0, V.Width);
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

    // As few row tiles as fit maxRows (each tile streams all of W once, so fewer tiles read W fewer times),
    // their count a multiple of the threads when there are enough rows, their size a multiple of the strip.
    private static (int Count, int Rows) RowTiles(int m, int strip, int parallelism, int maxRows = MaxTileRows)
    {
        var count = Math.Max(1, (m + maxRows - 1) / maxRows);
        if (parallelism > 1 && count >= parallelism)
        {
            count = (count + parallelism - 1) / parallelism * parallelism;
        }

        var rows = Math.Max(strip, ((m + count - 1) / count + strip - 1) / strip * strip);
        return ((m + rows - 1) / rows, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile<V, TW>(Operands o, int r0, int r1, int p0, int p1)
        where V : unmanaged, IVector<V>
        where TW : unmanaged
    {
        var (width, strip, k) = (2 * V.Count, Strip<V>(), o.K);
        var strips = (r1 - r0 + strip - 1) / strip;
        var packed = _packedA ??= new float[PackedFloats];
        var edge = stackalloc float[strip * width];
        // The tile takes K whole (its rows are capped so that they fit the packing buffer): every kernel call then
        // writes its block of C once, and each panel of W is read front to back, which the hardware prefetcher
        // streams best. Depth chunks, kept only for a K too deep for even one strip, re-read and re-write C per
        // chunk; a tile's C (72 rows × 1536 floats) outgrows L2 beside W, and that had cost 10–25% at two threads.
        var chunk = strips * strip * k <= PackedFloats ? k : Math.Min(MaxDepthChunk, ChunkFloats / width);
        fixed (float* pack = packed)
        {
            for (var k0 = 0; k0 < k; k0 += chunk)
            {
                var depth = Math.Min(chunk, k - k0);
                PackA(o.A, o.Lda, r0, r1, k0, depth, strip, pack);
                for (var p = p0; p < p1; p++)
                {
                    var panel = (TW*)o.Panels + ((long)p * k * width) + ((long)k0 * width);
                    var col = p * width;
                    var columns = Math.Min(width, o.N - col);
                    for (var s = 0; s < strips; s++)
                    {
                        var row = r0 + (s * strip);
                        var rows = Math.Min(strip, r1 - row);
                        var a = pack + (s * depth * strip);
                        var target = o.C + ((long)row * o.Ldc) + col;
                        if (rows == strip && columns == width)
                        {
                            // The first chunk starts from the bias (stride 0: the same row for all); later ones from C.
                            Kernel<V, TW>(a, depth, panel, target, o.Ldc, k0 == 0 ? o.Bias + col : target, k0 == 0 ? 0 : o.Ldc);
                            continue;
                        }

                        new Span<float>(edge, strip * width).Clear();
                        for (var r = 0; r < rows; r++)
                        {
                            new ReadOnlySpan<float>(k0 == 0 ? o.Bias + col : target + ((long)r * o.Ldc), columns).CopyTo(new Span<float>(edge + (r * width), columns));
                        }

                        Kernel<V, TW>(a, depth, panel, edge, width, edge, width);
                        for (var r = 0; r < rows; r++)
                        {
                            new ReadOnlySpan<float>(edge + (r * width), columns).CopyTo(new Span<float>(target + ((long)r * o.Ldc), columns));
                        }
                    }
                }
            }
        }
    }

    // Rows r0..r1 of A, columns k0..k0+depth, as strips of [depth × strip]; rows past r1 are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackA(float* a, int lda, int r0, int r1, int k0, int depth, int strip, float* pack)
    {
        var strips = (r1 - r0 + strip - 1) / strip;
        for (var s = 0; s < strips; s++)
        {
            var packedStrip = pack + (s * depth * strip);
            for (var r = 0; r < strip; r++)
            {
                var row = r0 + (s * strip) + r;
                if (row >= r1)
                {
                    for (var i = 0; i < depth; i++)
                    {
                        packedStrip[(i * strip) + r] = 0;
                    }

                    continue;
                }

                var source = a + ((long)row * lda) + k0;
                for (var i = 0; i < depth; i++)
                {
                    packedStrip[(i * strip) + r] = source[i];
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
