using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// Comparing quantized embeddings: Hamming distance between packed sign bits and the integer dot product of int8
/// codes, at each <see cref="SimdWidth"/>, each with a naive reference beside it (tested against it). Rows are short
/// (48 bytes for 384 bits), so the scalar path counts 64-bit words with the CPU's popcount instruction and the vector
/// paths count nibbles through a 16-entry table in a byte shuffle (x86 before AVX-512 VPOPCNT, which .NET 10 does not
/// expose, has no vector popcount).
/// </summary>
internal static class CodeDistance
{
    /// <summary>Bits that differ between <paramref name="a"/> and <paramref name="b"/> (equal lengths).</summary>
    public static int Hamming(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, SimdWidth simd)
    {
        var distance = 0;
        var i = 0;
        if (simd == SimdWidth.Vector512 && a.Length >= 64)
        {
            distance += HammingVector512(a, b, ref i);
        }
        else if (simd >= SimdWidth.Vector256 && a.Length >= 32)
        {
            distance += HammingVector256(a, b, ref i);
        }
        else if (simd >= SimdWidth.Vector128 && a.Length >= 16)
        {
            distance += HammingVector128(a, b, ref i);
        }

        for (; i + 8 <= a.Length; i += 8)
        {
            distance += BitOperations.PopCount(MemoryMarshal.Read<ulong>(a[i..]) ^ MemoryMarshal.Read<ulong>(b[i..]));
        }

        for (; i < a.Length; i++)
        {
            distance += BitOperations.PopCount((uint)(a[i] ^ b[i]));
        }

        return distance;
    }

    /// <summary>The naive reference: bit by bit.</summary>
    public static int ReferenceHamming(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var distance = 0;
        for (var i = 0; i < a.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                distance += ((a[i] ^ b[i]) >> bit) & 1;
            }
        }

        return distance;
    }

    // Bits set in each byte, by nibble: the table a byte shuffle looks up.
    private static ReadOnlySpan<byte> NibbleCounts => [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

    private static int HammingVector128(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ref int i)
    {
        var table = Vector128.Create(NibbleCounts);
        var low = Vector128.Create((byte)0x0F);
        var total = 0;
        for (; i + 16 <= a.Length; i += 16)
        {
            var x = Vector128.Create(a.Slice(i, 16)) ^ Vector128.Create(b.Slice(i, 16));
            var counts = Vector128.ShuffleNative(table, x & low) + Vector128.ShuffleNative(table, Vector128.ShiftRightLogical(x, 4));
            var (lo, hi) = Vector128.Widen(counts);
            total += Vector128.Sum(lo + hi);
        }

        return total;
    }

    private static int HammingVector256(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ref int i)
    {
        var table = Vector256.Create(Vector128.Create(NibbleCounts));
        var low = Vector256.Create((byte)0x0F);
        var total = 0;
        for (; i + 32 <= a.Length; i += 32)
        {
            var x = Vector256.Create(a.Slice(i, 32)) ^ Vector256.Create(b.Slice(i, 32));
            var counts = Vector256.ShuffleNative(table, x & low) + Vector256.ShuffleNative(table, Vector256.ShiftRightLogical(x, 4));
            var (lo, hi) = Vector256.Widen(counts);
            total += Vector256.Sum(lo + hi);
        }

        return total;
    }

    private static int HammingVector512(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ref int i)
    {
        var table = Vector512.Create(Vector256.Create(Vector128.Create(NibbleCounts)));
        var low = Vector512.Create((byte)0x0F);
        var total = 0;
        for (; i + 64 <= a.Length; i += 64)
        {
            var x = Vector512.Create(a.Slice(i, 64)) ^ Vector512.Create(b.Slice(i, 64));
            var counts = Vector512.ShuffleNative(table, x & low) + Vector512.ShuffleNative(table, Vector512.ShiftRightLogical(x, 4));
            var (lo, hi) = Vector512.Widen(counts);
            total += Vector512.Sum(lo + hi);
        }

        return total;
    }

    /// <summary>Σ a[i]·b[i] of two int8 code rows, exact in 32 bits for rows up to 2¹⁷ values.</summary>
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, SimdWidth simd)
    {
        var sum = 0;
        var i = 0;
        if (simd == SimdWidth.Vector512 && a.Length >= 64)
        {
            var acc = Vector512<int>.Zero;
            for (; i + 64 <= a.Length; i += 64)
            {
                var (al, ah) = Vector512.Widen(Vector512.Create(a.Slice(i, 64)));
                var (bl, bh) = Vector512.Widen(Vector512.Create(b.Slice(i, 64)));
                acc += Products(al, bl) + Products(ah, bh);
            }

            sum += Vector512.Sum(acc);
        }
        else if (simd >= SimdWidth.Vector256 && a.Length >= 32)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 32 <= a.Length; i += 32)
            {
                var (al, ah) = Vector256.Widen(Vector256.Create(a.Slice(i, 32)));
                var (bl, bh) = Vector256.Widen(Vector256.Create(b.Slice(i, 32)));
                acc += Products(al, bl) + Products(ah, bh);
            }

            sum += Vector256.Sum(acc);
        }
        else if (simd >= SimdWidth.Vector128 && a.Length >= 16)
        {
            var acc = Vector128<int>.Zero;
            for (; i + 16 <= a.Length; i += 16)
            {
                var (al, ah) = Vector128.Widen(Vector128.Create(a.Slice(i, 16)));
                var (bl, bh) = Vector128.Widen(Vector128.Create(b.Slice(i, 16)));
                acc += Products(al, bl) + Products(ah, bh);
            }

            sum += Vector128.Sum(acc);
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>The naive reference.</summary>
    public static int ReferenceDot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        var sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    // Products of 16-bit values (each |v| ≤ 128, so |product| ≤ 2¹⁴) summed in pairs into 32-bit lanes.
    private static Vector512<int> Products(Vector512<short> a, Vector512<short> b)
    {
        var (al, ah) = Vector512.Widen(a);
        var (bl, bh) = Vector512.Widen(b);
        return (al * bl) + (ah * bh);
    }

    private static Vector256<int> Products(Vector256<short> a, Vector256<short> b)
    {
        var (al, ah) = Vector256.Widen(a);
        var (bl, bh) = Vector256.Widen(b);
        return (al * bl) + (ah * bh);
    }

    private static Vector128<int> Products(Vector128<short> a, Vector128<short> b)
    {
        var (al, ah) = Vector128.Widen(a);
        var (bl, bh) = Vector128.Widen(b);
        return (al * bl) + (ah * bh);
    }
}
