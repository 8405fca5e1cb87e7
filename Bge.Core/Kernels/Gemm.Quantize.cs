using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>Dynamic quantization of activation rows for the int8 GEMM.</summary>
public static partial class Gemm
{
    /// <summary>
    /// Quantizes one row of activations onto −127…127 across its own range [min, max], widened to hold 0 (as ONNX's
    /// DynamicQuantizeLinear does): scale = (max − min) / 254, <paramref name="zeroPoint"/> = −round(((max + min) / 2)
    /// / scale), within ±127, q = round(x / scale) + zeroPoint (ties to even, clamped), so x ≈ (q − zeroPoint) · scale.
    /// A row mostly of one sign (GELU's output, say) thus keeps nearly the full 8 bits where a symmetric scale would
    /// spend one on values that never occur; the GEMM subtracts zeroPoint · Σw exactly, in integers. Returns the
    /// scale: 0 for an all-zero row, NaN when a value is not finite (so it reaches the output rather than vanish).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="x"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> destination, out int zeroPoint)
    {
        if (destination.Length < x.Length)
        {
            throw new ArgumentException($"{x.Length} activations into {destination.Length} int8 values", nameof(destination));
        }

        float scale;
        fixed (float* px = x)
        fixed (sbyte* pd = destination)
        {
            var (min, max) = Range(px, x.Length);
            if (!RowScale(min, max, out var inverse, out zeroPoint, out scale))
            {
                destination[..x.Length].Clear();
                return scale;
            }

            var i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var (factor, offset) = (Vector512.Create(inverse), Vector512.Create(zeroPoint));
                for (; i + 64 <= x.Length; i += 64)
                {
                    Vector512.Narrow(Vector512.Narrow(Steps(px + i, factor, offset), Steps(px + i + 16, factor, offset)), Vector512.Narrow(Steps(px + i + 32, factor, offset), Steps(px + i + 48, factor, offset))).Store(pd + i);
                }
            }

            if (Vector256.IsHardwareAccelerated)
            {
                var (factor, offset) = (Vector256.Create(inverse), Vector256.Create(zeroPoint));
                for (; i + 32 <= x.Length; i += 32)
                {
                    Vector256.Narrow(Vector256.Narrow(Steps(px + i, factor, offset), Steps(px + i + 8, factor, offset)), Vector256.Narrow(Steps(px + i + 16, factor, offset), Steps(px + i + 24, factor, offset))).Store(pd + i);
                }
            }

            if (Vector128.IsHardwareAccelerated)
            {
                var (factor, offset) = (Vector128.Create(inverse), Vector128.Create(zeroPoint));
                for (; i + 16 <= x.Length; i += 16)
                {
                    Vector128.Narrow(Vector128.Narrow(Steps(px + i, factor, offset), Steps(px + i + 4, factor, offset)), Vector128.Narrow(Steps(px + i + 8, factor, offset), Steps(px + i + 12, factor, offset))).Store(pd + i);
                }
            }

            for (; i < x.Length; i++)
            {
                pd[i] = QuantizeOne(px[i], inverse, zeroPoint);
            }
        }

        return scale;
    }

    /// <summary><see cref="QuantizeRow"/> as plain scalar loops: what its vector paths are tested against.</summary>
    internal static float ReferenceQuantizeRow(ReadOnlySpan<float> x, Span<sbyte> destination, out int zeroPoint)
    {
        var (min, max) = (0f, 0f);
        foreach (var v in x)
        {
            (min, max) = float.IsNaN(v) ? (float.NaN, float.NaN) : (Math.Min(min, v), Math.Max(max, v));
            if (float.IsNaN(min))
            {
                break;
            }
        }

        if (!RowScale(min, max, out var inverse, out zeroPoint, out var scale))
        {
            destination[..x.Length].Clear();
            return scale;
        }

        for (var i = 0; i < x.Length; i++)
        {
            destination[i] = QuantizeOne(x[i], inverse, zeroPoint);
        }

        return scale;
    }

    // round(x · inverse) + zero point, clamped, one vector at a time (the rounded value is whole, so the native
    // conversion is exact on every CPU).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> Steps(float* x, Vector512<float> inverse, Vector512<int> zeroPoint) =>
        Vector512.Min(Vector512.Create(127), Vector512.Max(Vector512.Create(-127), Vector512.ConvertToInt32Native(Vector512.Round(Vector512.Load(x) * inverse)) + zeroPoint));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Steps(float* x, Vector256<float> inverse, Vector256<int> zeroPoint) =>
        Vector256.Min(Vector256.Create(127), Vector256.Max(Vector256.Create(-127), Vector256.ConvertToInt32Native(Vector256.Round(Vector256.Load(x) * inverse)) + zeroPoint));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<int> Steps(float* x, Vector128<float> inverse, Vector128<int> zeroPoint) =>
        Vector128.Min(Vector128.Create(127), Vector128.Max(Vector128.Create(-127), Vector128.ConvertToInt32Native(Vector128.Round(Vector128.Load(x) * inverse)) + zeroPoint));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static sbyte QuantizeOne(float x, float inverse, int zeroPoint) => (sbyte)Math.Clamp((int)MathF.Round(x * inverse) + zeroPoint, -127, 127);

    // The scale, its inverse and the zero point of a row whose values lie in [min, max]; false (and the scale 0 or
    // NaN) when the row quantizes to zeros: all zero, or a value not finite. Holding 0 in the range keeps the zero
    // point within ±127 (so zeroPoint · Σw cannot overflow) and x / scale small enough to round exactly, however far
    // from 0 the row lies.
    private static bool RowScale(float min, float max, out float inverse, out int zeroPoint, out float scale)
    {
        (min, max) = (Math.Min(min, 0), Math.Max(max, 0));
        var range = max - min;
        (inverse, zeroPoint, scale) = (0, 0, range == 0 ? 0 : float.NaN);
        if (!float.IsFinite(range) || range == 0)
        {
            return false;
        }

        inverse = 254f / range;
        zeroPoint = -(int)MathF.Round((max + min) * 0.5f * inverse);
        scale = range / 254f;
        return true;
    }

    // The row's least and greatest values, or 0 where 0 lies beyond them (the scale holds 0 anyway), in one pass;
    // NaN for both when a value is NaN (the native min and max instructions drop a NaN depending on its operand's
    // place, so NaNs are looked for apart).
    private static unsafe (float Min, float Max) Range(float* x, int length)
    {
        var i = 0;
        var (lo, hi, nans) = (Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero);
        if (Vector256.IsHardwareAccelerated)
        {
            var (lo8, hi8, nans8) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
            if (Vector512.IsHardwareAccelerated)
            {
                var (lo16, hi16, nans16) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
                for (; i + 16 <= length; i += 16)
                {
                    var v = Vector512.Load(x + i);
                    (lo16, hi16, nans16) = (Vector512.MinNative(lo16, v), Vector512.MaxNative(hi16, v), nans16 | ~Vector512.Equals(v, v));
                }

                (lo8, hi8, nans8) = (Vector256.MinNative(lo16.GetLower(), lo16.GetUpper()), Vector256.MaxNative(hi16.GetLower(), hi16.GetUpper()), nans16.GetLower() | nans16.GetUpper());
            }

            for (; i + 8 <= length; i += 8)
            {
                var v = Vector256.Load(x + i);
                (lo8, hi8, nans8) = (Vector256.MinNative(lo8, v), Vector256.MaxNative(hi8, v), nans8 | ~Vector256.Equals(v, v));
            }

            (lo, hi, nans) = (Vector128.MinNative(lo8.GetLower(), lo8.GetUpper()), Vector128.MaxNative(hi8.GetLower(), hi8.GetUpper()), nans8.GetLower() | nans8.GetUpper());
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= length; i += 4)
            {
                var v = Vector128.Load(x + i);
                (lo, hi, nans) = (Vector128.MinNative(lo, v), Vector128.MaxNative(hi, v), nans | ~Vector128.Equals(v, v));
            }
        }

        var (min, max, nan) = (0f, 0f, nans != Vector128<float>.Zero);
        for (var j = 0; j < Vector128<float>.Count; j++)
        {
            (min, max) = (Math.Min(min, lo[j]), Math.Max(max, hi[j]));
        }

        for (; i < length; i++)
        {
            (min, max, nan) = (Math.Min(min, x[i]), Math.Max(max, x[i]), nan | float.IsNaN(x[i]));
        }

        return nan ? (float.NaN, float.NaN) : (min, max);
    }
}
