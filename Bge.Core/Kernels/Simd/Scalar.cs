using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>The scalar path's one arithmetic decision: fuse multiply-adds where the CPU does.</summary>
internal static class Scalar
{
    /// <summary>a·b + c, rounded once where the CPU fuses (as the vector paths), else twice (software FMA is slow).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => Simd.HasFusedMultiplyAdd ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;
}

/// <summary>One double, for the scalar evaluation of <see cref="Erf"/>'s polynomial.</summary>
internal readonly struct Double1(double value) : IDoubleVector<Double1>
{
    public double Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double1 Create(double value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double1 MultiplyAdd(Double1 a, Double1 b, Double1 c) =>
        new(Simd.HasFusedMultiplyAdd ? Math.FusedMultiplyAdd(a.Value, b.Value, c.Value) : (a.Value * b.Value) + c.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double1 Clamp(Double1 value, Double1 min, Double1 max) => new(Math.Clamp(value.Value, min.Value, max.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double1 operator *(Double1 left, Double1 right) => new(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Double1 operator /(Double1 left, Double1 right) => new(left.Value / right.Value);
}

/// <summary>One float as a vector of one: the scalar path of the generic elementwise and row kernels.</summary>
internal unsafe struct Vec1(float value) : IVector<Vec1>
{
    private float _v = value;

    public float Value => _v;

    public static int Count => 1;

    public static SimdWidth Width => SimdWidth.Scalar;

    public static Vec1 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Create(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Load(float* source) => new(*source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 LoadBFloat16(ushort* source) => new(BitConverter.Int32BitsToSingle(*source << 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vec1 value, float* destination) => *destination = value._v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 MultiplyAdd(Vec1 a, Vec1 b, Vec1 c) => new(Scalar.MultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAddTo(ref Vec1 accumulator, Vec1 a, Vec1 b) => accumulator._v = Scalar.MultiplyAdd(a._v, b._v, accumulator._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Max(Vec1 a, Vec1 b) => new(MathF.Max(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Min(Vec1 a, Vec1 b) => new(MathF.Min(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Round(Vec1 value) => new(MathF.Round(value._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Pow2(Vec1 n) => new(BitConverter.Int32BitsToSingle(((int)n._v + 127) << 23));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 Erf(Vec1 value) => new(Kernels.Erf.Compute(value._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vec1 value) => value._v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Vec1 value) => value._v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 operator +(Vec1 left, Vec1 right) => new(left._v + right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 operator -(Vec1 left, Vec1 right) => new(left._v - right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 operator *(Vec1 left, Vec1 right) => new(left._v * right._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec1 operator /(Vec1 left, Vec1 right) => new(left._v / right._v);
}
