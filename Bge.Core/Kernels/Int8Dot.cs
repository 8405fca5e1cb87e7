using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>
/// A four-way byte dot product on one vector of int32 lanes: lane j gains Σ_{b&lt;4} x[b] · w[4j + b], x four int8
/// activations (the same in every lane), w four int8 weights per lane. Each CPU has its own instruction for it;
/// <see cref="Int8Dot.Kernel{TD, TV}"/> is written once over this interface.
/// </summary>
internal unsafe interface IInt8Dot<TV>
    where TV : unmanaged
{
    static abstract bool IsSupported { get; }

    /// <summary>int32 lanes (output columns) per vector.</summary>
    static abstract int Lanes { get; }

    /// <summary>Four activations (a little-endian int, already offset by 128 where the instruction wants them unsigned) in every lane.</summary>
    static abstract TV Broadcast(int four);

    /// <summary>Lanes × 4 bytes of weights, or Lanes int32s.</summary>
    static abstract TV Load(void* source);

    /// <summary>The accumulators' start for columns with these int8 sums: −128 · Σw where activations were offset by 128, else 0.</summary>
    static abstract TV Start(int* columnSums);

    static abstract TV Dot(TV sum, TV x, TV w);

    static abstract void Store(TV value, int* destination);
}

/// <summary>The int8 micro-kernels: <see cref="Gemm.Int8StripRows"/> rows × two vectors of int32 accumulators.</summary>
internal static unsafe class Int8Dot
{
    // acc[4 × 2·Lanes] = strip · panel over `groups` groups of four inputs: a is [groups × 4 rows × 4 bytes], w is
    // [groups × 2·Lanes × 4 bytes]. Not inlined: on its own it keeps every pointer in a register.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Kernel<TD, TV>(sbyte* a, int groups, sbyte* w, int* acc, int* columnSums)
        where TD : IInt8Dot<TV>
        where TV : unmanaged
    {
        var n = TD.Lanes;
        TV c00 = TD.Start(columnSums), c01 = TD.Start(columnSums + n);
        TV c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
        var x4 = (int*)a;
        for (var g = 0; g < groups; g++, x4 += 4, w += 8 * n)
        {
            var w0 = TD.Load(w);
            var w1 = TD.Load(w + (4 * n));
            var x = TD.Broadcast(x4[0]);
            c00 = TD.Dot(c00, x, w0);
            c01 = TD.Dot(c01, x, w1);
            x = TD.Broadcast(x4[1]);
            c10 = TD.Dot(c10, x, w0);
            c11 = TD.Dot(c11, x, w1);
            x = TD.Broadcast(x4[2]);
            c20 = TD.Dot(c20, x, w0);
            c21 = TD.Dot(c21, x, w1);
            x = TD.Broadcast(x4[3]);
            c30 = TD.Dot(c30, x, w0);
            c31 = TD.Dot(c31, x, w1);
        }

        var ld = 2 * n;
        TD.Store(c00, acc);
        TD.Store(c01, acc + n);
        TD.Store(c10, acc + ld);
        TD.Store(c11, acc + ld + n);
        TD.Store(c20, acc + (2 * ld));
        TD.Store(c21, acc + (2 * ld) + n);
        TD.Store(c30, acc + (3 * ld));
        TD.Store(c31, acc + (3 * ld) + n);
    }

    /// <summary>
    /// AVX-512BW without VNNI, 512 bits, exact: one panel of 16 columns × two strips (8 rows), the weights read once
    /// for both. PMADDUBSW would saturate on unsigned × signed bytes and AVX-512 has no PSIGNB to keep the pairs
    /// small, so the products are taken in 16 bits: each group's 64 weight bytes are sign-extended (VPMOVSXBW, half a
    /// panel per vector) and multiplied by a row's four activations, stored as int16 by the packing (<paramref name="a"/>
    /// is two strips of [groups × 4 rows × 4] int16, one after the other), with PMADDWD. Lane 2c then holds column c's
    /// inputs 0–1 and lane 2c + 1 its inputs 2–3; the two are added once, at the end. 16 accumulators, two weight
    /// vectors and a broadcast: 19 of AVX-512's 32 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Widened512(short* a, int groups, sbyte* w, int* acc)
    {
        Vector512<int> c0l = default, c0h = default, c1l = default, c1h = default, c2l = default, c2h = default, c3l = default, c3h = default;
        Vector512<int> c4l = default, c4h = default, c5l = default, c5h = default, c6l = default, c6h = default, c7l = default, c7h = default;
        var x4 = (long*)a;
        var y4 = x4 + (4 * groups);
        for (var g = 0; g < groups; g++, x4 += 4, y4 += 4, w += 64)
        {
            var wl = Avx512BW.ConvertToVector512Int16(Vector256.Load(w));
            var wh = Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 32));
            var x = Vector512.Create(x4[0]).AsInt16();
            c0l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c0h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(x4[1]).AsInt16();
            c1l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c1h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(x4[2]).AsInt16();
            c2l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c2h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(x4[3]).AsInt16();
            c3l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c3h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(y4[0]).AsInt16();
            c4l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c4h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(y4[1]).AsInt16();
            c5l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c5h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(y4[2]).AsInt16();
            c6l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c6h += Avx512BW.MultiplyAddAdjacent(x, wh);
            x = Vector512.Create(y4[3]).AsInt16();
            c7l += Avx512BW.MultiplyAddAdjacent(x, wl);
            c7h += Avx512BW.MultiplyAddAdjacent(x, wh);
        }

        Fold(c0l, c0h).Store(acc);
        Fold(c1l, c1h).Store(acc + 16);
        Fold(c2l, c2h).Store(acc + 32);
        Fold(c3l, c3h).Store(acc + 48);
        Fold(c4l, c4h).Store(acc + 64);
        Fold(c5l, c5h).Store(acc + 80);
        Fold(c6l, c6h).Store(acc + 96);
        Fold(c7l, c7h).Store(acc + 112);
    }

    // A row's 16 columns from its two vectors of pairs: lanes 2c and 2c + 1 added (VPSHUFD swaps each pair), then
    // the low half of each 64-bit lane kept (VPMOVQD).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Fold(Vector512<int> low, Vector512<int> high)
    {
        static Vector256<int> Half(Vector512<int> pairs) => Avx512F.ConvertToVector256Int32((pairs + Avx512F.Shuffle(pairs, 0b10_11_00_01)).AsInt64());
        return Vector512.Create(Half(low), Half(high));
    }

    /// <summary>The same product as plain integer loops, for any panel width.</summary>
    public static void ScalarKernel(sbyte* a, int groups, sbyte* w, int width, int* acc)
    {
        const int rows = Gemm.Int8StripRows;
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < width; j++)
            {
                var sum = 0;
                for (var g = 0; g < groups; g++)
                {
                    var x = a + (((g * rows) + r) * 4);
                    var y = w + (((g * width) + j) * 4);
                    sum += (x[0] * y[0]) + (x[1] * y[1]) + (x[2] * y[2]) + (x[3] * y[3]);
                }

                acc[(r * width) + j] = sum;
            }
        }
    }

    /// <summary>
    /// AVX2 without VNNI: PMADDUBSW multiplies unsigned by signed bytes and adds pairs into int16, saturating. Given
    /// |x| and w carrying x's sign (VPSIGNB), each pair is at most 2 · 127 · 127 = 32,258 (weights never −128), so
    /// it never saturates; PMADDWD by ones adds the pairs into int32.
    /// </summary>
    public readonly struct Avx2 : IInt8Dot<Vector256<int>>
    {
        public static bool IsSupported => System.Runtime.Intrinsics.X86.Avx2.IsSupported;

        public static int Lanes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Broadcast(int four) => Vector256.Create(four);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(void* source) => Vector256.Load((int*)source);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Start(int* columnSums) => Vector256<int>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> sum, Vector256<int> x, Vector256<int> w)
        {
            var pairs = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(
                System.Runtime.Intrinsics.X86.Avx2.Abs(x.AsSByte()),
                System.Runtime.Intrinsics.X86.Avx2.Sign(w.AsSByte(), x.AsSByte()));
            return System.Runtime.Intrinsics.X86.Avx2.Add(sum, System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<int> value, int* destination) => value.Store(destination);
    }

    /// <summary>AVX-VNNI: VPDPBUSD adds four unsigned × signed byte products into each int32 lane in one instruction, exactly; activations come offset by 128 (stored so by the GEMM's packing) to make them unsigned, and the start subtracts 128 · Σw.</summary>
    public readonly struct Vnni : IInt8Dot<Vector256<int>>
    {
        public static bool IsSupported => AvxVnni.IsSupported;

        public static int Lanes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Broadcast(int four) => Vector256.Create(four);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(void* source) => Vector256.Load((int*)source);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Start(int* columnSums) => Vector256<int>.Zero - Vector256.ShiftLeft(Vector256.Load(columnSums), 7);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> sum, Vector256<int> x, Vector256<int> w) =>
            AvxVnni.MultiplyWideningAndAdd(sum, x.AsByte(), w.AsSByte());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<int> value, int* destination) => value.Store(destination);
    }

    /// <summary>
    /// What <see cref="Vnni"/> computes (unsigned x + 128 against signed w, corrected by the start), from AVX2's
    /// 16-bit products: even and odd bytes widened to int16 and multiplied pairwise by PMADDWD, exact.
    /// </summary>
    public readonly struct Avx2Unsigned : IInt8Dot<Vector256<int>>
    {
        public static bool IsSupported => System.Runtime.Intrinsics.X86.Avx2.IsSupported;

        public static int Lanes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Broadcast(int four) => Vnni.Broadcast(four);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(void* source) => Vector256.Load((int*)source);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Start(int* columnSums) => Vnni.Start(columnSums);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<int> sum, Vector256<int> x, Vector256<int> w)
        {
            var (xs, ws) = (x.AsInt16(), w.AsInt16());
            var xEven = xs & Vector256.Create((short)0xFF);
            var xOdd = Vector256.ShiftRightLogical(xs, 8);
            var wEven = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(ws, 8), 8);
            var wOdd = Vector256.ShiftRightArithmetic(ws, 8);
            return sum + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(xEven, wEven) + System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(xOdd, wOdd);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<int> value, int* destination) => value.Store(destination);
    }

    /// <summary><see cref="Avx2"/> at 128 bits (SSSE3's PSIGNB and PMADDUBSW, SSE2's PMADDWD).</summary>
    public readonly struct Ssse3 : IInt8Dot<Vector128<int>>
    {
        public static bool IsSupported => System.Runtime.Intrinsics.X86.Ssse3.IsSupported;

        public static int Lanes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Broadcast(int four) => Vector128.Create(four);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(void* source) => Vector128.Load((int*)source);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Start(int* columnSums) => Vector128<int>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Dot(Vector128<int> sum, Vector128<int> x, Vector128<int> w)
        {
            var pairs = System.Runtime.Intrinsics.X86.Ssse3.MultiplyAddAdjacent(
                System.Runtime.Intrinsics.X86.Ssse3.Abs(x.AsSByte()),
                System.Runtime.Intrinsics.X86.Ssse3.Sign(w.AsSByte(), x.AsSByte()));
            return Sse2.Add(sum, Sse2.MultiplyAddAdjacent(pairs, Vector128.Create((short)1)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<int> value, int* destination) => value.Store(destination);
    }

    /// <summary>ARM64 SDOT: four signed × signed byte products into each int32 lane, exact.</summary>
    public readonly struct ArmDot : IInt8Dot<Vector128<int>>
    {
        public static bool IsSupported => Dp.IsSupported;

        public static int Lanes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Broadcast(int four) => Vector128.Create(four);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(void* source) => Vector128.Load((int*)source);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Start(int* columnSums) => Vector128<int>.Zero;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Dot(Vector128<int> sum, Vector128<int> x, Vector128<int> w) =>
            Dp.DotProduct(sum, x.AsSByte(), w.AsSByte());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<int> value, int* destination) => value.Store(destination);
    }
}
