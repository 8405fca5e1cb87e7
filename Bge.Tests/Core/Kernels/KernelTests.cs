using Bge.Core;
using Bge.Core.Kernels;
using Bge.Core.Pooling;

namespace Bge.Tests.Core.Kernels;

/// <summary>
/// Each fast kernel at every width against its plain reference twin and against the scalar path. Widths this CPU does
/// not accelerate run in .NET's software vectors, so every path is checked on any host.
/// </summary>
public sealed class KernelTests
{
    internal static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    internal static float[] Random(int n, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale).ToArray();
    }

    // Rows around every strip (6, 8) and tile (72) edge; K from 1; N around every panel width (2, 8, 16, 32); and
    // a K too deep for one strip's rows to fit the packing buffer whole (past 64Ki floats), which the GEMM walks in
    // depth chunks, with ragged strips and panels.
    private static IEnumerable<TestCaseData> Shapes() =>
        (from m in new[] { 1, 5, 8, 13, 16, 25, 73, 150 }
         from k in new[] { 1, 7, 33, 385 }
         from n in new[] { 1, 7, 17, 33, 100 }
         select new TestCaseData(m, k, n))
        .Append(new TestCaseData(13, 11_000, 33));

    [TestCaseSource(nameof(Shapes))]
    public void GemmAtEveryWidthIsTheScalarPathBitForBitAndNearTheReference(int m, int k, int n)
    {
        var a = Random(m * k, 1);
        var weight = Random(n * k, 2);
        var bias = Random(n, 3);
        var expected = new float[m * n];
        Gemm.Reference(a, m, k, weight, n, bias, expected);
        var scalar = new float[m * n];
        Gemm.Linear(a, m, new PackedWeight(weight, bias, n, k, SimdWidth.Scalar), scalar, 1);
        var tolerance = 1e-5 * Math.Sqrt(k) * 4;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.That(scalar[i], Is.EqualTo(expected[i]).Within(tolerance), $"scalar m {m} k {k} n {n} at {i}");
        }

        foreach (var simd in Widths)
        {
            var packed = new PackedWeight(weight, bias, n, k, simd);
            foreach (var parallelism in new[] { 1, 2 })
            {
                var actual = new float[m * n];
                Gemm.Linear(a, m, packed, actual, parallelism);
                Assert.That(actual, Is.EqualTo(scalar), $"{simd} m {m} k {k} n {n} parallelism {parallelism}");
            }
        }
    }

    // The bf16 path widens each weight exactly and then runs the fp32 kernel: it must give the very bits of the fp32
    // path on the weights rounded to bf16, at every width and thread count, the ragged edges included.
    [TestCaseSource(nameof(Shapes))]
    public void Bf16GemmAtEveryWidthIsTheFp32GemmOfTheRoundedWeightsBitForBit(int m, int k, int n)
    {
        var a = Random(m * k, 4);
        var weight = Random(n * k, 5);
        var bias = Random(n, 6);
        var rounded = weight.Select(w => Precisions.FromBFloat16(Precisions.ToBFloat16(w))).ToArray();
        foreach (var simd in Widths)
        {
            var expected = new float[m * n];
            Gemm.Linear(a, m, new PackedWeight(rounded, bias, n, k, simd), expected, 1);
            var packed = new PackedWeight(weight, bias, n, k, simd, Precision.Bf16);
            Assert.That(packed.Data, Is.Empty, "bf16 holds no fp32 copy");
            Assert.That(packed.BFloat16, Has.Length.EqualTo(packed.Panels * packed.PanelWidth * k));
            foreach (var parallelism in new[] { 1, 2 })
            {
                var actual = new float[m * n];
                Gemm.Linear(a, m, packed, actual, parallelism, Gemm.Epilogue.None);
                Assert.That(actual, Is.EqualTo(expected), $"{simd} m {m} k {k} n {n} parallelism {parallelism}");
            }
        }
    }

    [Test]
    public void BFloat16RoundsToNearestEvenAsADoubleReferenceDoes()
    {
        Assert.That(Precisions.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80), "a tie goes to the even neighbour below");
        Assert.That(Precisions.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82), "a tie goes to the even neighbour above");
        Assert.That(Precisions.ToBFloat16(float.MaxValue), Is.EqualTo(0x7F80), "past the largest bf16: infinity, as PyTorch rounds");
        Assert.That(float.IsNaN(Precisions.FromBFloat16(Precisions.ToBFloat16(float.NaN))), Is.True);
        Assert.That(float.IsNaN(Precisions.FromBFloat16(Precisions.ToBFloat16(BitConverter.UInt32BitsToSingle(0x7F800001)))), Is.True, "a NaN whose payload is in the low bits stays NaN");
        var random = new Random(7);
        for (var i = 0; i < 200_000; i++)
        {
            var bits = (uint)random.NextInt64(0, 0x7F7F0000);   // finite positives below the top binade's last bf16 step
            var value = BitConverter.UInt32BitsToSingle(bits);
            var (below, above) = ((ushort)(bits >> 16), (ushort)((bits >> 16) + 1));
            var (dBelow, dAbove) = (value - (double)Precisions.FromBFloat16(below), Precisions.FromBFloat16(above) - (double)value);
            var expected = dBelow < dAbove ? below : dAbove < dBelow ? above : (below & 1) == 0 ? below : above;
            Assert.That(Precisions.ToBFloat16(value), Is.EqualTo(expected), $"0x{bits:X8}");
            Assert.That(Precisions.ToBFloat16(-value), Is.EqualTo(expected | 0x8000), $"-0x{bits:X8}");
        }
    }

    [Test]
    public void GemmWithTheGeluEpilogueEqualsGemmThenGeluAtEveryWidth([ValueSource(nameof(Widths))] SimdWidth simd, [Values(1, 2)] int parallelism)
    {
        var a = Random(77 * 40, 13);
        var packed = new PackedWeight(Random(50 * 40, 14, 3f), Random(50, 15), 50, 40, simd);
        var expected = new float[77 * 50];
        Gemm.Linear(a, 77, packed, expected, parallelism);
        Gelu.InPlace(expected, simd);
        var fused = new float[77 * 50];
        Gemm.Linear(a, 77, packed, fused, parallelism, Gemm.Epilogue.Gelu);
        Assert.That(fused, Is.EqualTo(expected));
    }

    [Test]
    public void PanelsAndStripsAreSizedPerWidth()
    {
        Assert.That(Widths.Select(Gemm.PanelWidth), Is.EqualTo(new[] { 2, 8, 16, 32 }));
        Assert.That(Gemm.StripRows(SimdWidth.Vector256), Is.EqualTo(6), "16 ymm registers: 12 accumulators + 3");
        Assert.That(Gemm.StripRows(SimdWidth.Vector512), Is.EqualTo(8), "32 zmm registers: 16 accumulators + 3");
        Assert.That(Gemm.StripRows(SimdWidth.Vector128), Is.EqualTo(System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported ? 8 : 6));
    }

    [Test]
    public void WorkerTeamRunsEveryIterationOnceEvenNestedAndFromManyCallers()
    {
        var counts = new int[64 * 64];
        Parallel.For(0, 6, caller =>
        {
            for (var round = 0; round < 50; round++)
            {
                WorkerTeam.For(64, 2, i => WorkerTeam.For(64, 2, j => Interlocked.Increment(ref counts[(i * 64) + j])));
            }
        });
        Assert.That(counts, Has.All.EqualTo(6 * 50));
        var error = Assert.Throws<AggregateException>(() => WorkerTeam.For(10, 2, i => throw new InvalidOperationException($"iteration {i}")));
        Assert.That(error!.InnerExceptions, Has.Some.InstanceOf<InvalidOperationException>());
    }

    [Test]
    public void GemmIsDeterministicWhateverTheThreadCount()
    {
        var a = Random(100 * 384, 4);
        var packed = new PackedWeight(Random(1536 * 384, 5), Random(1536, 6), 1536, 384, Simd.Hardware);
        var one = new float[100 * 1536];
        var two = new float[100 * 1536];
        Gemm.Linear(a, 100, packed, one, 1);
        Gemm.Linear(a, 100, packed, two, 2);
        Assert.That(two, Is.EqualTo(one));
    }

    // Lengths around the 6-query block and every key panel (2, 8, 16, 32); head sizes with and without a tail at
    // each width (48 = 32 + 16 at 512 bits, 12 and 5 leave single features).
    [TestCase(1, 32)]
    [TestCase(3, 48)]
    [TestCase(7, 32)]
    [TestCase(17, 12)]
    [TestCase(33, 64)]
    [TestCase(130, 32)]
    [TestCase(5, 5)]
    public void AttentionAtEveryWidthMatchesTheReferenceAndTheScalarPath(int length, int headSize)
    {
        const int heads = 3;
        var hidden = heads * headSize;
        var qkv = Random(length * 3 * hidden, 7, 3f);
        var scale = 1f / MathF.Sqrt(headSize);
        float[] Run(SimdWidth simd)
        {
            var context = new float[length * hidden];
            var scratch = new float[Attention.ScratchSize(length, headSize)];
            for (var h = 0; h < heads; h++)
            {
                Attention.Head(qkv, 3 * hidden, h * headSize, hidden + (h * headSize), (2 * hidden) + (h * headSize), length, headSize, scale, context, hidden, h * headSize, scratch, simd);
            }

            return context;
        }

        var scalar = Run(SimdWidth.Scalar);
        foreach (var simd in Widths)
        {
            var context = Run(simd);
            for (var h = 0; h < heads; h++)
            {
                float[] Part(int offset) => Enumerable.Range(0, length).SelectMany(j => qkv.AsSpan((j * 3 * hidden) + offset + (h * headSize), headSize).ToArray()).ToArray();
                var expected = Attention.Reference(Part(0), Part(hidden), Part(2 * hidden), length, headSize, scale);
                for (var i = 0; i < length; i++)
                {
                    for (var t = 0; t < headSize; t++)
                    {
                        var at = (i * hidden) + (h * headSize) + t;
                        Assert.That(context[at], Is.EqualTo(expected[(i * headSize) + t]).Within(2e-5), $"{simd} query {i} head {h} feature {t}");
                        Assert.That(context[at], Is.EqualTo(scalar[at]), $"{simd} vs scalar, query {i} head {h} feature {t}");
                    }
                }
            }
        }
    }

    // Lengths around the six-query block (1, 5, 6, 7) and around a key tile (tile − 1, tile, tile + 1, 3·tile + 5), at
    // the kernel's own tile and at the smallest (32, so many tiles are cheap), and one long sequence (4,100 keys: eight
    // tiles and a ragged one; six query tiles, the last ending in a partial block). The last key is planted to score
    // far above the rest for every query, so each query's maximum jumps by more than the exponential's floor in its
    // last tile and the rescaling to zero is exercised; head size 64 is bge's, 12 leaves single features at every width.
    private static IEnumerable<TestCaseData> TiledAttentionCases() =>
        (from tile in new[] { Attention.KeyTile, 32 }
         from length in new[] { 1, 5, 6, 7, tile - 1, tile, tile + 1, (3 * tile) + 5 }
         from headSize in new[] { 64, 12 }
         select new TestCaseData(length, headSize, tile))
        .Append(new TestCaseData(4_100, 64, Attention.KeyTile));

    [TestCaseSource(nameof(TiledAttentionCases))]
    public void AttentionInKeyTilesAtEveryWidthMatchesTheReferenceAndTheScalarPath(int length, int headSize, int keyTile)
    {
        var hidden = 2 * headSize;
        var qkv = Random(length * 3 * hidden, length + headSize, 3f);
        var scale = 1f / MathF.Sqrt(headSize);
        if (length > 1)
        {
            for (var h = 0; h < 2; h++)
            {
                for (var t = 0; t < headSize; t++)
                {
                    qkv[((length - 1) * 3 * hidden) + hidden + (h * headSize) + t] = 20f * qkv[(h * headSize) + t];
                }
            }
        }

        float[] Run(SimdWidth simd)
        {
            var context = new float[length * hidden];
            Array.Fill(context, float.NaN);   // the first tile must not read what the output held
            var scratch = new float[Attention.ScratchSize(length, headSize, keyTile)];
            for (var h = 0; h < 2; h++)
            {
                Attention.HeadWithKeyTile(qkv, 3 * hidden, h * headSize, hidden + (h * headSize), (2 * hidden) + (h * headSize), length, headSize, scale, context, hidden, h * headSize, scratch, simd, keyTile);
            }

            return context;
        }

        var expected = new float[length * hidden];
        for (var h = 0; h < 2; h++)
        {
            float[] Part(int offset) => Enumerable.Range(0, length).SelectMany(j => qkv.AsSpan((j * 3 * hidden) + offset + (h * headSize), headSize).ToArray()).ToArray();
            var head = Attention.Reference(Part(0), Part(hidden), Part(2 * hidden), length, headSize, scale);
            for (var i = 0; i < length; i++)
            {
                head.AsSpan(i * headSize, headSize).CopyTo(expected.AsSpan((i * hidden) + (h * headSize)));
            }
        }

        var scalar = Run(SimdWidth.Scalar);
        foreach (var simd in Widths)
        {
            var context = simd == SimdWidth.Scalar ? scalar : Run(simd);
            var worst = 0.0;
            for (var at = 0; at < context.Length; at++)
            {
                worst = Math.Max(worst, Math.Abs(context[at] - (double)expected[at]));
            }

            // Against the double twin: float rounding over up to 4,100 terms. Against the scalar path: every sum is
            // taken in one order at every width, so the very same bits.
            Assert.That(worst, Is.LessThan(2e-5), $"{simd} vs reference");
            Assert.That(context, Is.EqualTo(scalar), $"{simd} vs scalar");
        }
    }

    [Test]
    public void AttentionScratchGrowsWithTheLengthOnlyUpToOneTile()
    {
        Assert.That(Attention.ScratchSize(1_000_000, 64), Is.EqualTo(Attention.ScratchSize(8_192, 64)));
        Assert.That(Attention.ScratchSize(8_192, 64) * sizeof(float), Is.LessThan(300_000), "two tiles of 512 × 64 floats, six score rows, 2 × 768 running sums and a sink row");
        Assert.Throws<ArgumentOutOfRangeException>(() => Attention.HeadWithKeyTile(new float[3], 3, 0, 1, 2, 1, 1, 1f, new float[1], 1, 0, new float[4096], SimdWidth.Scalar, 48));
    }

    [Test]
    public void AttentionRefusesBuffersTooSmallForTheSequence()
    {
        var error = Assert.Throws<ArgumentException>(() => Attention.Head(new float[10], 3, 0, 1, 2, 4, 1, 1f, new float[4], 1, 0, new float[1], SimdWidth.Vector256));
        Assert.That(error!.Message, Does.Contain("sequence of 4"));
    }

    [Test]
    public void ErfIsWithinTwoUlpsOfTheDoubleReference()
    {
        var worst = 0.0;
        for (var x = -6f; x <= 6f; x += 1e-4f)
        {
            var exact = Erf.Reference(x);
            var ulp = Math.Max(MathF.BitIncrement(MathF.Abs((float)exact)) - MathF.Abs((float)exact), float.Epsilon);
            worst = Math.Max(worst, Math.Abs(Erf.Compute(x) - exact) / ulp);
        }

        TestContext.Out.WriteLine($"erf: worst error {worst:F2} ulp");
        Assert.That(worst, Is.LessThanOrEqualTo(2.0));
        Assert.That(Erf.Reference(0.5), Is.EqualTo(0.5204998778130465).Within(1e-15));
        Assert.That(Erf.Reference(-3.5), Is.EqualTo(-0.9999992569016276).Within(1e-15));
    }

    [Test]
    public void GeluAtEveryWidthMatchesTheReferenceAndIsTheScalarPathBitForBit()
    {
        var values = Random(1000 + 5, 8, 8f);
        var expected = values.Select(Gelu.Reference).ToArray();
        var scalar = (float[])values.Clone();
        Gelu.InPlace(scalar, SimdWidth.Scalar);
        Assert.That(scalar, Is.EqualTo(expected).Within(2e-6));
        foreach (var simd in Widths)
        {
            var actual = (float[])values.Clone();
            Gelu.InPlace(actual, simd);
            Assert.That(actual, Is.EqualTo(scalar), simd.ToString());
        }
    }

    [TestCase(384)]
    [TestCase(1)]
    [TestCase(17)]
    [TestCase(1024)]
    public void LayerNormAtEveryWidthMatchesTheReferenceWithAndWithoutAResidual(int width)
    {
        var row = Random(width, 9, 5f);
        var residual = Random(width, 16, 2f);
        var weight = Random(width, 10);
        var bias = Random(width, 11);
        var plain = (float[])row.Clone();
        LayerNorm.Reference(plain, weight, bias, 1e-12f);
        var summed = row.Zip(residual, (x, r) => x + r).ToArray();
        LayerNorm.Reference(summed, weight, bias, 1e-12f);
        foreach (var simd in Widths)
        {
            var actual = (float[])row.Clone();
            LayerNorm.Row(actual, default, weight, bias, 1e-12f, simd);
            Assert.That(actual, Is.EqualTo(plain).Within(1e-5), $"{simd} without residual");
            actual = (float[])row.Clone();
            LayerNorm.Row(actual, residual, weight, bias, 1e-12f, simd);
            Assert.That(actual, Is.EqualTo(summed).Within(1e-5), $"{simd} with residual");
        }

        Assert.Throws<ArgumentException>(() => LayerNorm.Row(new float[width], new float[width + 1], weight, bias, 1e-12f, SimdWidth.Vector256));
    }

    [Test]
    public void SoftmaxExpIsWithinTwoUlpsOfMathExpDownToItsFloor()
    {
        var worst = 0.0;
        for (var x = -30f; x <= 0f; x += 1e-4f)
        {
            var exact = Math.Exp(x);
            var ulp = MathF.BitIncrement((float)exact) - (float)exact;
            worst = Math.Max(worst, Math.Abs(Softmax.Exp(x) - exact) / ulp);
        }

        TestContext.Out.WriteLine($"softmax exp: worst error {worst:F2} ulp");
        Assert.That(worst, Is.LessThanOrEqualTo(2.0));
        Assert.That(Softmax.Exp(-1000f), Is.EqualTo(MathF.Exp(-30f)).Within(1e-20), "floored, never subnormal");
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(17)]
    [TestCase(77)]
    public void SoftmaxAtEveryWidthMatchesTheReferenceAndSurvivesLargeScores(int length)
    {
        var row = Random(length, 12, 50f);
        row[length / 2] = 1e4f;
        var expected = (float[])row.Clone();
        Softmax.Reference(expected);
        foreach (var simd in Widths)
        {
            var actual = (float[])row.Clone();
            Softmax.InPlace(actual, simd);
            Assert.That(actual, Is.EqualTo(expected).Within(1e-6), simd.ToString());
            Assert.That(actual.Sum(), Is.EqualTo(1f).Within(1e-5), simd.ToString());
        }
    }

    [Test]
    public void MeanPoolingIsTheSameAtEveryWidthAndL2NormalizeGivesUnitLength()
    {
        const int hidden = 37;
        var data = Random(5 * hidden, 17, 3f);
        var states = new Bge.Core.Model.HiddenStates(data, hidden, [0, 1, 5]);
        var expected = Enumerable.Range(0, hidden).Select(f => (float)Enumerable.Range(1, 4).Average(t => (double)data[(t * hidden) + f])).ToArray();
        var scalar = new float[hidden];
        Poolings.For(Bge.Weights.PoolingMode.Mean, SimdWidth.Scalar).Pool(states, 1, scalar);
        Assert.That(scalar, Is.EqualTo(expected).Within(1e-6));
        foreach (var simd in Widths)
        {
            var mean = new float[hidden];
            Poolings.For(Bge.Weights.PoolingMode.Mean, simd).Pool(states, 1, mean);
            Assert.That(mean, Is.EqualTo(scalar), simd.ToString());
            L2Normalize.InPlace(mean, simd);
            Assert.That(Math.Sqrt(mean.Sum(v => (double)v * v)), Is.EqualTo(1.0).Within(1e-6), simd.ToString());
            var zero = new float[hidden];
            L2Normalize.InPlace(zero, simd);
            Assert.That(zero, Has.All.EqualTo(0f), "a zero vector stays zero");
        }
    }

    [Test]
    public void TheCpuDecisionIsAnAcceleratedWidthAndWidthsParse()
    {
        Assert.That(Simd.IsAccelerated(Simd.Hardware), Is.True);
        Assert.That(Simd.IsAccelerated(SimdWidth.Scalar), Is.True);
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            Assert.That(Simd.Hardware, Is.EqualTo(SimdWidth.Vector512));
        }

        TestContext.Out.WriteLine($"this CPU: {Simd.Describe(Simd.Hardware)}");
        Assert.That(new[] { "512", "256", " 128 ", "Scalar", "0" }.Select(Simd.Parse), Is.EqualTo(new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar, SimdWidth.Scalar }));
        var error = Assert.Throws<ArgumentException>(() => Simd.Parse("avx"));
        Assert.That(error!.Message, Does.Contain("'avx'").And.Contain("512, 256, 128 or scalar"));
    }
}
