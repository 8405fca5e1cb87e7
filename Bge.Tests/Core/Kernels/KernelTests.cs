using Bge.Core.Kernels;

namespace Bge.Tests.Core.Kernels;

/// <summary>Each fast kernel against its plain reference twin.</summary>
public sealed class KernelTests
{
    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale).ToArray();
    }

    private static readonly int[] Sizes = [1, 7, 33, 385];

    private static IEnumerable<TestCaseData> Shapes() =>
        from m in Sizes from k in Sizes from n in Sizes select new TestCaseData(m, k, n);

    [TestCaseSource(nameof(Shapes))]
    public void GemmMatchesTheReferenceOnOddShapes(int m, int k, int n)
    {
        var a = Random(m * k, 1);
        var weight = Random(n * k, 2);
        var bias = Random(n, 3);
        var expected = new float[m * n];
        Gemm.Reference(a, m, k, weight, n, bias, expected);
        var packed = new PackedWeight(weight, bias, n, k);
        foreach (var (parallelism, vectorized) in new[] { (1, true), (2, true), (1, false) })
        {
            var actual = new float[m * n];
            Gemm.Linear(a, m, packed, actual, parallelism, vectorized);
            var tolerance = 1e-5 * Math.Sqrt(k) * 4;
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"m {m} k {k} n {n} parallelism {parallelism} vectorized {vectorized} at {i}");
            }
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    public void GemmWithTheGeluEpilogueEqualsGemmThenGelu(int parallelism)
    {
        var a = Random(77 * 40, 13);
        var packed = new PackedWeight(Random(50 * 40, 14, 3f), Random(50, 15), 50, 40);
        var expected = new float[77 * 50];
        Gemm.Linear(a, 77, packed, expected, parallelism);
        Gelu.InPlace(expected);
        var fused = new float[77 * 50];
        Gemm.Linear(a, 77, packed, fused, parallelism, epilogue: Gemm.Epilogue.Gelu);
        Assert.That(fused, Is.EqualTo(expected));
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
        var packed = new PackedWeight(Random(1536 * 384, 5), Random(1536, 6), 1536, 384);
        var one = new float[100 * 1536];
        var two = new float[100 * 1536];
        Gemm.Linear(a, 100, packed, one, 1);
        Gemm.Linear(a, 100, packed, two, 2);
        Assert.That(two, Is.EqualTo(one));
    }

    [TestCase(1, 32)]
    [TestCase(7, 32)]
    [TestCase(33, 64)]
    [TestCase(130, 32)]
    [TestCase(5, 12)]
    public void AttentionMatchesTheReference(int length, int headSize)
    {
        const int heads = 3;
        var hidden = heads * headSize;
        var qkv = Random(length * 3 * hidden, 7, 3f);
        var context = new float[length * hidden];
        var scale = 1f / MathF.Sqrt(headSize);
        var scratch = new float[Attention.ScratchSize(length, headSize)];
        for (var h = 0; h < heads; h++)
        {
            Attention.Head(qkv, 3 * hidden, h * headSize, hidden + (h * headSize), (2 * hidden) + (h * headSize), length, headSize, scale, context, hidden, h * headSize, scratch);
        }

        for (var h = 0; h < heads; h++)
        {
            float[] Part(int offset) => Enumerable.Range(0, length).SelectMany(j => qkv.AsSpan((j * 3 * hidden) + offset + (h * headSize), headSize).ToArray()).ToArray();
            var expected = Attention.Reference(Part(0), Part(hidden), Part(2 * hidden), length, headSize, scale);
            for (var i = 0; i < length; i++)
            {
                for (var t = 0; t < headSize; t++)
                {
                    Assert.That(context[(i * hidden) + (h * headSize) + t], Is.EqualTo(expected[(i * headSize) + t]).Within(2e-5));
                }
            }
        }
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
    public void GeluVectorAndScalarPathsMatchTheReference()
    {
        var values = Random(1000 + 5, 8, 8f);
        var expected = values.Select(Gelu.Reference).ToArray();
        Gelu.InPlace(values);
        Assert.That(values, Is.EqualTo(expected).Within(2e-6));
    }

    [Test]
    public void LayerNormMatchesTheReference()
    {
        var row = Random(384, 9, 5f);
        var weight = Random(384, 10);
        var bias = Random(384, 11);
        var expected = (float[])row.Clone();
        LayerNorm.Reference(expected, weight, bias, 1e-12f);
        LayerNorm.Row(row, weight, bias, 1e-12f);
        Assert.That(row, Is.EqualTo(expected).Within(1e-5));
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

    [Test]
    public void SoftmaxMatchesTheReferenceAndSurvivesLargeScores()
    {
        var row = Random(77, 12, 50f);
        row[3] = 1e4f;
        var expected = (float[])row.Clone();
        Softmax.Reference(expected);
        Softmax.InPlace(row);
        Assert.That(row, Is.EqualTo(expected).Within(1e-6));
        Assert.That(row.Sum(), Is.EqualTo(1f).Within(1e-5));
    }
}
