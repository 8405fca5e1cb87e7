using Bge.Core;
using Bge.Core.Kernels;

namespace Bge.Tests.Core.Kernels;

/// <summary>
/// The int8 GEMM: every kernel this CPU runs (SSSE3, AVX2, the VNNI formulation on AVX2, AVX-VNNI, SDOT, scalar),
/// at every width and thread count, against the plain integer loops of <see cref="Gemm.ReferenceInt8"/>: integer sums
/// are exact, so the outputs must be the same bits.
/// </summary>
public sealed class Int8KernelTests
{
    private static readonly SimdWidth[] Widths = KernelTests.Widths;

    private static float[] Random(int n, int seed, float scale = 1f) => KernelTests.Random(n, seed, scale);

    // Rows around the strip (4) and tile (72) edges; K from 1 and off the groups of four; N around every panel width.
    private static IEnumerable<TestCaseData> Shapes() =>
        from m in new[] { 1, 3, 4, 5, 8, 9, 16, 73, 150 }
        from k in new[] { 1, 3, 4, 7, 33, 385 }
        from n in new[] { 1, 7, 8, 17, 33, 100 }
        select new TestCaseData(m, k, n);

    private static (float[] Expected, sbyte[] Weight, float[] Scales) Reference(float[] a, int m, int k, float[] weight, float[] bias, int n)
    {
        var quantized = new sbyte[n * k];
        var scales = new float[n];
        for (var o = 0; o < n; o++)
        {
            scales[o] = PackedWeight.QuantizeChannel(weight.AsSpan(o * k, k), quantized.AsSpan(o * k, k));
        }

        var expected = new float[m * n];
        Gemm.ReferenceInt8(a, m, k, quantized, scales, n, bias, expected);
        return (expected, quantized, scales);
    }

    private static void EveryKernelGives(float[] expected, float[] a, int m, PackedWeight packed, string what)
    {
        var ran = 0;
        foreach (var kernel in Enum.GetValues<Gemm.Int8Kernel>())
        {
            if (!Gemm.Int8KernelRuns(kernel, packed.PanelWidth))
            {
                continue;
            }

            foreach (var parallelism in new[] { 1, 2 })
            {
                var actual = new float[expected.Length];
                Gemm.LinearInt8(a, m, packed, actual, parallelism, Gemm.Epilogue.None, kernel);
                Assert.That(actual, Is.EqualTo(expected), $"{kernel} on {packed.Simd} panels, {what}, parallelism {parallelism}");
                ran++;
            }
        }

        Assert.That(ran, Is.GreaterThanOrEqualTo(2), "the scalar kernel at least");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Int8GemmOnEveryKernelAndWidthIsTheIntegerReferenceBitForBit(int m, int k, int n)
    {
        var a = Random(m * k, 21, 3f);
        var weight = Random(n * k, 22, 0.1f);
        var bias = Random(n, 23);
        var (expected, _, _) = Reference(a, m, k, weight, bias, n);
        foreach (var simd in Widths)
        {
            var packed = new PackedWeight(weight, bias, n, k, simd, Precision.Int8);
            Assert.That((packed.Data, packed.BFloat16), Is.EqualTo((Array.Empty<float>(), Array.Empty<ushort>())), "int8 holds no float copy");
            Assert.That(packed.Int8, Has.Length.EqualTo(packed.Panels * packed.PanelWidth * packed.Depth));
            EveryKernelGives(expected, a, m, packed, $"m {m} k {k} n {n}");
            var best = new float[m * n];
            Gemm.Linear(a, m, packed, best, 2);
            Assert.That(best, Is.EqualTo(expected), $"Gemm.Linear at {simd}");
        }
    }

    // Every product at its largest magnitude (127 · 127, all of one sign or alternating): where a 16-bit pair sum
    // could saturate or a 32-bit sum overflow, if anywhere.
    [Test]
    public void ProductsAtTheirLargestNeitherSaturateNorOverflow([Values(1, -1)] float sign, [Values(8, 4096)] int k)
    {
        const int m = 5, n = 17;
        var a = Enumerable.Range(0, m * k).Select(i => i % 3 == 0 ? -2f : 2f).ToArray();
        var weight = Enumerable.Range(0, n * k).Select(i => sign * (i % 5 == 0 ? -0.5f : 0.5f)).ToArray();
        var bias = new float[n];
        var (expected, quantized, _) = Reference(a, m, k, weight, bias, n);
        Assert.That(quantized.All(q => Math.Abs((int)q) == 127), Is.True, "every weight at ±127");
        foreach (var simd in Widths)
        {
            EveryKernelGives(expected, a, m, new PackedWeight(weight, bias, n, k, simd, Precision.Int8), $"extremes k {k} sign {sign}");
        }

        // The integer sums themselves, checked in double: a row of a against a column of w.
        var exact = 0.0;
        for (var i = 0; i < k; i++)
        {
            exact += (i % 3 == 0 ? -127.0 : 127.0) * quantized[i];
        }

        Assert.That(expected[0], Is.EqualTo(exact * (2f / 127f) * (0.5f / 127f)).Within(Math.Abs(exact) * 1e-6));
    }

    [Test]
    public void ActivationRowsQuantizeAcrossTheirOwnRangeToTheNearestStep([Values(1, 31, 32, 33, 100, 385)] int length, [Values(0f, 0.8f, 100f)] float shift)
    {
        // shift 0.8: a row mostly of one sign, as GELU's output is; the zero point moves to use the steps that occur.
        // shift 100: far from 0, whose range still holds 0 so the zero point stays within ±127.
        var x = Random(length, length).Select(v => v + shift).ToArray();
        var q = new sbyte[length];
        var scale = Gemm.QuantizeRow(x, q, out var zero);
        var (min, max) = (Math.Min(0, x.Min()), Math.Max(0, x.Max()));
        Assert.That(scale, Is.EqualTo((max - min) / 254f));
        Assert.That(zero, Is.InRange(-127, 127));
        if (x.Max() > 0)
        {
            Assert.That(q.Max(v => (int)v), Is.EqualTo(127), "the largest value takes the top of the range");
        }

        if (x.Min() < 0)
        {
            Assert.That(q.Min(v => (int)v), Is.EqualTo(-127), "the smallest value takes the bottom of the range");
        }

        for (var i = 0; i < length; i++)
        {
            var back = (q[i] - zero) * (double)scale;
            Assert.That(Math.Abs(back - x[i]), Is.LessThanOrEqualTo((0.5 * scale) + (1e-5 * Math.Abs(x[i]))), $"element {i}: {x[i]} → {q[i]} (zero point {zero})");
        }

        Assert.That(Gemm.QuantizeRow(new float[length], q, out zero), Is.Zero, "an all-zero row has scale 0");
        Assert.That(q.All(v => v == 0) && zero == 0, Is.True);
        Assert.That(Gemm.QuantizeRow(Enumerable.Repeat(-3f, length).ToArray(), q, out zero), Is.EqualTo(3f / 254f).Within(1e-7), "one value throughout: [−3, 0]");
        Assert.That(q.All(v => v == -127) && zero == 127, Is.True);
        x[length / 2] = float.NaN;
        Assert.That(float.IsNaN(Gemm.QuantizeRow(x, q, out _)), Is.True, "a NaN reaches the output through the scale");
    }

    // The vector paths (512, 256 and 128 bits, with their tails) against the scalar loop: the same bytes, scale and
    // zero point, for rows of every length around the vector widths, of one sign, with infinities and NaNs.
    [Test]
    public void ActivationRowsQuantizeAsTheScalarLoopDoes([Values(0f, 0.8f, -5f)] float shift)
    {
        for (var length = 1; length <= 200; length++)
        {
            var rows = new List<float[]> { Random(length, length).Select(v => v + shift).ToArray() };
            foreach (var odd in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f })
            {
                var row = Random(length, length + 1000);
                row[(length * 7) % length] = odd;
                rows.Add(row);
            }

            foreach (var row in rows)
            {
                var (fast, slow) = (new sbyte[length], new sbyte[length]);
                var scale = Gemm.QuantizeRow(row, fast, out var zero);
                var expectedScale = Gemm.ReferenceQuantizeRow(row, slow, out var expectedZero);
                Assert.That((scale, zero), Is.EqualTo((expectedScale, expectedZero)), $"length {length}, shift {shift}, max {row.Max()}");
                Assert.That(fast, Is.EqualTo(slow), $"length {length}, shift {shift}");
            }
        }
    }

    [Test]
    public void WeightChannelsQuantizeSymmetricallyAndAnOutOfRangeValueIsRefused()
    {
        var w = new[] { 63.5f, -127f, 32f, 0f, 0.5f, 1.5f };
        var q = new sbyte[6];
        Assert.That(PackedWeight.QuantizeChannel(w, q), Is.EqualTo(1f));
        Assert.That(q, Is.EqualTo(new sbyte[] { 64, -127, 32, 0, 0, 2 }), "ties to even: 63.5 → 64, 0.5 → 0, 1.5 → 2");
        Assert.That(() => PackedWeight.QuantizeChannel([1f, float.PositiveInfinity], new sbyte[2]), Throws.ArgumentException.With.Message.Contains("not finite"));
        var packed = new PackedWeight(2, 3, SimdWidth.Vector256, Precision.Int8);
        Assert.That(() => packed.PackInt8(0, [1, 2, 3, 4, -128, 6], [0.1f, 0.1f], [0f, 0f]), Throws.ArgumentException.With.Message.Contains("row 1, input 1"));
        Assert.That(() => packed.PackInt8(0, [1, 2, 3, 4, 5, 6], [0.1f, float.NaN], [0f, 0f]), Throws.ArgumentException.With.Message.Contains("row 1"));
        Assert.That(() => packed.PackInt8(0, [1, 2, 3], [0.1f, 0.1f], [0f, 0f]), Throws.ArgumentException);
        Assert.That(() => new PackedWeight(2, 3, SimdWidth.Vector256).PackInt8(0, [1, 2, 3, 4, 5, 6], [1f, 1f], [0f, 0f]), Throws.InvalidOperationException);
    }

    [Test]
    public void Int8GemmWithTheGeluEpilogueEqualsGemmThenGelu([ValueSource(nameof(Widths))] SimdWidth simd)
    {
        var a = Random(77 * 40, 13);
        var packed = new PackedWeight(Random(50 * 40, 14, 3f), Random(50, 15), 50, 40, simd, Precision.Int8);
        var expected = new float[77 * 50];
        Gemm.Linear(a, 77, packed, expected, 2);
        Gelu.InPlace(expected, simd);
        var fused = new float[77 * 50];
        Gemm.Linear(a, 77, packed, fused, 2, Gemm.Epilogue.Gelu);
        Assert.That(fused, Is.EqualTo(expected));
    }
}
