namespace Bge.Core.Kernels;

/// <summary>
/// What the kernels need of a float vector, so each kernel is written once and compiled for each width
/// (<see cref="Vec128"/>, <see cref="Vec256"/>, <see cref="Vec512"/>). The implementations are single-field
/// wrappers with inlined members: the JIT specializes a generic kernel per width and the wrapper disappears.
/// </summary>
internal unsafe interface IVector<TSelf>
    where TSelf : unmanaged, IVector<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>The width this type stands for.</summary>
    static abstract SimdWidth Width { get; }

    static abstract TSelf Zero { get; }

    static abstract TSelf Create(float value);

    /// <summary>Count floats from <paramref name="source"/> (no alignment needed).</summary>
    static abstract TSelf Load(float* source);

    /// <summary>Count bfloat16 values from <paramref name="source"/>, widened to float (exact: a bfloat16 is a float's upper 16 bits).</summary>
    static abstract TSelf LoadBFloat16(ushort* source);

    static abstract void Store(TSelf value, float* destination);

    /// <summary>a·b + c, fused where the CPU fuses (see <see cref="Simd.HasFusedMultiplyAdd"/>).</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>accumulator += a·b, fused as <see cref="MultiplyAdd"/>, written into the accumulator itself.</summary>
    /// <remarks>
    /// What the dot-product kernels use for their accumulators. With <c>c = MultiplyAdd(a, b, c)</c> the result
    /// passes through the wrapper's temporary, and the JIT then writes it into whichever source register dies there
    /// (the broadcast, or the last row's weights) and copies it back to the accumulator: a register move per
    /// multiply-add (on the AVX-512 host, the GEMM on two threads ran 3–17% slower for it). Writing the field in
    /// place lets the JIT accumulate in the accumulator's own register. The implementations choose fused or not
    /// with <c>IsSupported</c> reads spelled out rather than through <see cref="Simd.HasFusedMultiplyAdd"/>: those
    /// fold as the JIT imports the method, a call's result only later, after the choice has been given a temporary,
    /// and through the ref that temporary spills the accumulators to the stack.
    /// </remarks>
    static abstract void MultiplyAddTo(ref TSelf accumulator, TSelf a, TSelf b);

    /// <summary>The larger of each pair, as the CPU's own instruction gives it (which one on NaN or ±0 is the platform's).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>The smaller of each pair, as the CPU's own instruction gives it.</summary>
    static abstract TSelf Min(TSelf a, TSelf b);

    /// <summary>Rounds to the nearest integer, ties to even.</summary>
    static abstract TSelf Round(TSelf value);

    /// <summary>2ⁿ for integer-valued n in the normal range, built in the exponent field (the CPU's own conversion: n must be in range).</summary>
    static abstract TSelf Pow2(TSelf n);

    /// <summary>erf of each element, evaluated in double (see <see cref="Kernels.Erf"/>).</summary>
    static abstract TSelf Erf(TSelf value);

    /// <summary>The sum of the elements.</summary>
    static abstract float Sum(TSelf value);

    /// <summary>The largest element.</summary>
    static abstract float MaxElement(TSelf value);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);
}

/// <summary>What <see cref="Kernels.Erf"/>'s polynomial needs of a double vector.</summary>
internal interface IDoubleVector<TSelf>
    where TSelf : unmanaged, IDoubleVector<TSelf>
{
    static abstract TSelf Create(double value);

    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Clamp(TSelf value, TSelf min, TSelf max);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);
}
