using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>The micro-kernel: one strip of A times one chunk of a panel, into a strip × two-vector block of C.</summary>
public static partial class Gemm
{
    // How far ahead of its reads in W the kernel asks for the next lines: when W comes from memory (a few rows,
    // every panel read once) the hardware prefetcher alone leaves the kernel waiting.
    private const int PrefetchAhead = 512;

    // Rows per strip, sized to the register file: the block holds 2·rows accumulators, plus two vectors of W and a
    // broadcast. AVX2 has 16 ymm registers: 6 rows (12 + 3). AVX-512 has 32 zmm and NEON 32 q registers: 8 rows
    // (16 + 3), which also leaves a 16-token text no ragged strip. x86 at 128 bits keeps AVX's 16 registers: 6 rows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Strip<V>()
        where V : unmanaged, IVector<V> =>
        V.Count == 16 || (V.Count == 4 && AdvSimd.Arm64.IsSupported) ? 8 : 6;

    // One vector of W: float, or bfloat16 widened (the JIT keeps only the branch for TW).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V LoadWeight<V, TW>(TW* w)
        where V : unmanaged, IVector<V>
        where TW : unmanaged =>
        typeof(TW) == typeof(ushort) ? V.LoadBFloat16((ushort*)w) : V.Load((float*)w);

    // C[rows × 2V] = init + strip · panel, init rows ldi apart (0: one bias row for all). Eight-row code is removed
    // by the JIT where the strip has six. Not inlined: on its own it keeps every pointer in a register. Each
    // accumulator is updated in place (MultiplyAddTo), so that the JIT accumulates in its register (vfmadd231).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel<V, TW>(float* a, int depth, TW* w, float* c, int ldc, float* init, int ldi)
        where V : unmanaged, IVector<V>
        where TW : unmanaged
    {
        var (n, rows) = (V.Count, Strip<V>());
        V c00 = V.Load(init), c01 = V.Load(init + n);
        V c10 = V.Load(init + ldi), c11 = V.Load(init + ldi + n);
        V c20 = V.Load(init + (2 * ldi)), c21 = V.Load(init + (2 * ldi) + n);
        V c30 = V.Load(init + (3 * ldi)), c31 = V.Load(init + (3 * ldi) + n);
        V c40 = V.Load(init + (4 * ldi)), c41 = V.Load(init + (4 * ldi) + n);
        V c50 = V.Load(init + (5 * ldi)), c51 = V.Load(init + (5 * ldi) + n);
        V c60 = default, c61 = default, c70 = default, c71 = default;
        if (rows == 8)
        {
            (c60, c61) = (V.Load(init + (6 * ldi)), V.Load(init + (6 * ldi) + n));
            (c70, c71) = (V.Load(init + (7 * ldi)), V.Load(init + (7 * ldi) + n));
        }

        for (var i = 0; i < depth; i++, a += rows, w += 2 * n)
        {
            if (Sse.IsSupported)
            {
                // A hint only: it never faults, also when it points past the end of the panels.
                Sse.Prefetch0(w + PrefetchAhead);
            }

            var w0 = LoadWeight<V, TW>(w);
            var w1 = LoadWeight<V, TW>(w + n);
            var x = V.Create(a[0]);
            V.MultiplyAddTo(ref c00, w0, x);
            V.MultiplyAddTo(ref c01, w1, x);
            x = V.Create(a[1]);
            V.MultiplyAddTo(ref c10, w0, x);
            V.MultiplyAddTo(ref c11, w1, x);
            x = V.Create(a[2]);
            V.MultiplyAddTo(ref c20, w0, x);
            V.MultiplyAddTo(ref c21, w1, x);
            x = V.Create(a[3]);
            V.MultiplyAddTo(ref c30, w0, x);
            V.MultiplyAddTo(ref c31, w1, x);
            x = V.Create(a[4]);
            V.MultiplyAddTo(ref c40, w0, x);
            V.MultiplyAddTo(ref c41, w1, x);
            x = V.Create(a[5]);
            V.MultiplyAddTo(ref c50, w0, x);
            V.MultiplyAddTo(ref c51, w1, x);
            if (rows == 8)
            {
                x = V.Create(a[6]);
                V.MultiplyAddTo(ref c60, w0, x);
                V.MultiplyAddTo(ref c61, w1, x);
                x = V.Create(a[7]);
                V.MultiplyAddTo(ref c70, w0, x);
                V.MultiplyAddTo(ref c71, w1, x);
            }
        }

        V.Store(c00, c);
        V.Store(c01, c + n);
        V.Store(c10, c + ldc);
        V.Store(c11, c + ldc + n);
        V.Store(c20, c + (2 * ldc));
        V.Store(c21, c + (2 * ldc) + n);
        V.Store(c30, c + (3 * ldc));
        V.Store(c31, c + (3 * ldc) + n);
        V.Store(c40, c + (4 * ldc));
        V.Store(c41, c + (4 * ldc) + n);
        V.Store(c50, c + (5 * ldc));
        V.Store(c51, c + (5 * ldc) + n);
        if (rows == 8)
        {
            V.Store(c60, c + (6 * ldc));
            V.Store(c61, c + (6 * ldc) + n);
            V.Store(c70, c + (7 * ldc));
            V.Store(c71, c + (7 * ldc) + n);
        }
    }
}
