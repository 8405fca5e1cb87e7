using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>Vector128&lt;float&gt; for the kernels (<see cref="SimdWidth.Vector128"/>).</summary>
internal unsafe struct Vec128 : IVector<Vec128>
{
    // Not readonly: MultiplyAddTo writes an accumulator in place.
    private Vector128<float> _v;

    private Vec128(Vector128<float> v) => _v = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 FromVector(Vector128<float> v) => new(v);

    public static int Count => 4;

    public static SimdWidth Width => SimdWidth.Vector128;

    public static Vec128 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Create(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Load(float* source) => new(Vector128.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 LoadBFloat16(ushort* source) => new((
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(Vector128<ushort>.Zero, Vector64.Load(source).ToVector128Unsafe()).AsUInt32()
        : Vector128.ShiftLeft(Sse41.IsSupported ? Sse41.ConvertToVector128Int32(source).AsUInt32() : Vector128.WidenLower(Vector64.Load(source).ToVector128Unsafe()), 16)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vec128 value, float* destination) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 MultiplyAdd(Vec128 a, Vec128 b, Vec128 c) => new(Fused(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref Vec128 accumulator, Vec128 a, Vec128 b) => accumulator._v = Fused(a._v, b._v, accumulator._v);

    // The condition spelled out, not Simd.HasFusedMultiplyAdd: see IVector.MultiplyAddTo.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fused(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        (Fma.IsSupported || AdvSimd.IsSupported) ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Max(Vec128 a, Vec128 b) => new(Vector128.MaxNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Min(Vec128 a, Vec128 b) => new(Vector128.MinNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Round(Vec128 value) => new(Vector128.Round(value._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Pow2(Vec128 n) => new(Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n._v) + Vector128.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 Erf(Vec128 value)
    {
        var (lower, upper) = Vector128.Widen(value._v);
        return new(Vector128.Narrow(Kernels.Erf.Polynomial(new Double128(lower)).Value, Kernels.Erf.Polynomial(new Double128(upper)).Value));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec128 value) => Vector128.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Vec128 value) => Math.Max(Math.Max(value._v.GetElement(0), value._v.GetElement(1)), Math.Max(value._v.GetElement(2), value._v.GetElement(3)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 operator +(Vec128 left, Vec128 right) => new(left._v + right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 operator -(Vec128 left, Vec128 right) => new(left._v - right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 operator *(Vec128 left, Vec128 right) => new(left._v * right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec128 operator /(Vec128 left, Vec128 right) => new(left._v / right._v);
}

/// <summary>Vector128&lt;double&gt;, for <see cref="Kernels.Erf"/>.</summary>
internal readonly struct Double128(Vector128<double> value) : IDoubleVector<Double128>
{
    public Vector128<double> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double128 Create(double value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double128 MultiplyAdd(Double128 a, Double128 b, Double128 c) =>
        new(Simd.HasFusedMultiplyAdd ? Vector128.FusedMultiplyAdd(a.Value, b.Value, c.Value) : (a.Value * b.Value) + c.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double128 Clamp(Double128 value, Double128 min, Double128 max) => new(Vector128.ClampNative(value.Value, min.Value, max.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double128 operator *(Double128 left, Double128 right) => new(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double128 operator /(Double128 left, Double128 right) => new(left.Value / right.Value);
}
