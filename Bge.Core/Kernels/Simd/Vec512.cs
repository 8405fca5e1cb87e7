using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>Vector512&lt;float&gt; for the kernels (<see cref="SimdWidth.Vector512"/>).</summary>
internal unsafe struct Vec512 : IVector<Vec512>
{
    // Not readonly: MultiplyAddTo writes an accumulator in place.
    private Vector512<float> _v;

    private Vec512(Vector512<float> v) => _v = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 FromVector(Vector512<float> v) => new(v);

    public static int Count => 16;

    public static SimdWidth Width => SimdWidth.Vector512;

    public static Vec512 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 LoadBFloat16(ushort* source) => new(Vector512.ShiftLeft(
        Avx512F.IsSupported ? Avx512F.ConvertToVector512UInt32(Vector256.Load(source)) : Vector512.WidenLower(Vector256.Load(source).ToVector512Unsafe()), 16).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vec512 value, float* destination) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 MultiplyAdd(Vec512 a, Vec512 b, Vec512 c) => new(Fused(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref Vec512 accumulator, Vec512 a, Vec512 b) => accumulator._v = Fused(a._v, b._v, accumulator._v);

    // The condition spelled out, not Simd.HasFusedMultiplyAdd: see IVector.MultiplyAddTo.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fused(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        (Fma.IsSupported || AdvSimd.IsSupported) ? Vector512.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Max(Vec512 a, Vec512 b) => new(Vector512.MaxNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Min(Vec512 a, Vec512 b) => new(Vector512.MinNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Round(Vec512 value) => new(Vector512.Round(value._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Pow2(Vec512 n) => new(Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n._v) + Vector512.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 Erf(Vec512 value)
    {
        var (lower, upper) = Vector512.Widen(value._v);
        return new(Vector512.Narrow(Kernels.Erf.Polynomial(new Double512(lower)).Value, Kernels.Erf.Polynomial(new Double512(upper)).Value));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec512 value) => Vector512.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Vec512 value) => Vec256.MaxElement(Vec256.FromVector(Vector256.Max(value._v.GetLower(), value._v.GetUpper())));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 operator +(Vec512 left, Vec512 right) => new(left._v + right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 operator -(Vec512 left, Vec512 right) => new(left._v - right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 operator *(Vec512 left, Vec512 right) => new(left._v * right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec512 operator /(Vec512 left, Vec512 right) => new(left._v / right._v);
}

/// <summary>Vector512&lt;double&gt;, for <see cref="Kernels.Erf"/>.</summary>
internal readonly struct Double512(Vector512<double> value) : IDoubleVector<Double512>
{
    public Vector512<double> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double512 Create(double value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double512 MultiplyAdd(Double512 a, Double512 b, Double512 c) =>
        new(Simd.HasFusedMultiplyAdd ? Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value) : (a.Value * b.Value) + c.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double512 Clamp(Double512 value, Double512 min, Double512 max) => new(Vector512.ClampNative(value.Value, min.Value, max.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double512 operator *(Double512 left, Double512 right) => new(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double512 operator /(Double512 left, Double512 right) => new(left.Value / right.Value);
}
