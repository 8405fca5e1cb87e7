using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>Vector256&lt;float&gt; for the kernels (<see cref="SimdWidth.Vector256"/>).</summary>
internal unsafe struct Vec256 : IVector<Vec256>
{
    // Not readonly: MultiplyAddTo writes an accumulator in place.
    private Vector256<float> _v;

    private Vec256(Vector256<float> v) => _v = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 FromVector(Vector256<float> v) => new(v);

    public static int Count => 8;

    public static SimdWidth Width => SimdWidth.Vector256;

    public static Vec256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Load(float* source) => new(Vector256.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 LoadBFloat16(ushort* source) => new(Vector256.ShiftLeft(
        Avx2.IsSupported ? Avx2.ConvertToVector256Int32(source).AsUInt32() : Vector256.WidenLower(Vector128.Load(source).ToVector256Unsafe()), 16).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vec256 value, float* destination) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 MultiplyAdd(Vec256 a, Vec256 b, Vec256 c) => new(Fused(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref Vec256 accumulator, Vec256 a, Vec256 b) => accumulator._v = Fused(a._v, b._v, accumulator._v);

    // The condition spelled out, not Simd.HasFusedMultiplyAdd: see IVector.MultiplyAddTo.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fused(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        (Fma.IsSupported || AdvSimd.IsSupported) ? Vector256.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Max(Vec256 a, Vec256 b) => new(Vector256.MaxNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Min(Vec256 a, Vec256 b) => new(Vector256.MinNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Round(Vec256 value) => new(Vector256.Round(value._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Pow2(Vec256 n) => new(Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n._v) + Vector256.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 Erf(Vec256 value)
    {
        var (lower, upper) = Vector256.Widen(value._v);
        return new(Vector256.Narrow(Kernels.Erf.Polynomial(new Double256(lower)).Value, Kernels.Erf.Polynomial(new Double256(upper)).Value));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec256 value) => Vector256.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Vec256 value) => Vec128.MaxElement(Vec128.FromVector(Vector128.Max(value._v.GetLower(), value._v.GetUpper())));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 operator +(Vec256 left, Vec256 right) => new(left._v + right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 operator -(Vec256 left, Vec256 right) => new(left._v - right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 operator *(Vec256 left, Vec256 right) => new(left._v * right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec256 operator /(Vec256 left, Vec256 right) => new(left._v / right._v);
}

/// <summary>Vector256&lt;double&gt;, for <see cref="Kernels.Erf"/>.</summary>
internal readonly struct Double256(Vector256<double> value) : IDoubleVector<Double256>
{
    public Vector256<double> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double256 Create(double value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double256 MultiplyAdd(Double256 a, Double256 b, Double256 c) =>
        new(Simd.HasFusedMultiplyAdd ? Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value) : (a.Value * b.Value) + c.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double256 Clamp(Double256 value, Double256 min, Double256 max) => new(Vector256.ClampNative(value.Value, min.Value, max.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double256 operator *(Double256 left, Double256 right) => new(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double256 operator /(Double256 left, Double256 right) => new(left.Value / right.Value);
}
