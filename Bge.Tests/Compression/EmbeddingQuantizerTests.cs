using Bge.Core;
using Bge.Core.Compression;

namespace Bge.Tests.Compression;

/// <summary>
/// sentence-transformers' quantize_embeddings, worked by hand: ranges of step 1 so each code is plain arithmetic,
/// numpy's truncation toward zero after subtracting 128 (127.5 → int8 0, not −1), packbits' bit order and padding.
/// </summary>
public sealed class EmbeddingQuantizerTests
{
    // Dimension 0 spans [0, 255] (step 1), dimension 1 [−1, 254] (step 1).
    private static readonly QuantizationRanges StepOne = new([0f, -1f], [255f, 254f]);

    [Test]
    public void Int8AndUInt8AreNumpysTruncatedSteps()
    {
        var x = new EmbeddingMatrix([0f, -1f, 255f, 254f, 127.5f, 0.7f, 0.7f, 126.5f], 4, 2);
        Assert.That(Values(EmbeddingQuantizer.Quantize(x, VectorQuantization.UInt8, StepOne)), Is.EqualTo(new[] { 0, 0, 255, 255, 127, 1, 0, 127 }));
        // (x − min) − 128, truncated toward zero: 127.5 → −0.5 → 0; 0.7 → −127.3 → −127; 1.7 − 128 = −126.3 → −126.
        Assert.That(Values(EmbeddingQuantizer.Quantize(x, VectorQuantization.Int8, StepOne)), Is.EqualTo(new[] { -128, -128, 127, 127, 0, -126, -127, 0 }));
    }

    [Test]
    public void ValuesOutsideTheCalibrationRangesAreClampedAndASinglePointRangeGivesZero()
    {
        var x = new EmbeddingMatrix([-5f, 300f, 400f, -9f], 2, 2);
        Assert.That(Values(EmbeddingQuantizer.Quantize(x, VectorQuantization.UInt8, StepOne)), Is.EqualTo(new[] { 0, 255, 255, 0 }));
        Assert.That(Values(EmbeddingQuantizer.Quantize(x, VectorQuantization.Int8, StepOne)), Is.EqualTo(new[] { -128, 127, 127, -128 }));
        var flat = new EmbeddingMatrix([1f, 2f, 1f, 3f], 2, 2);
        // Dimension 0 is constant (0/0 → 0). Dimension 1's maximum is 254, not 255: in float32, 1 / (1 / 255f) is
        // 254.99998, which numpy truncates just so.
        Assert.That(Values(EmbeddingQuantizer.Quantize(flat, VectorQuantization.UInt8)), Is.EqualTo(new[] { 0, 0, 0, 254 }));
    }

    [Test]
    public void WithoutRangesTheEmbeddingsOwnAreUsed()
    {
        var random = new Random(3);
        var x = new EmbeddingMatrix([.. Enumerable.Range(0, 40 * 16).Select(_ => (float)random.NextDouble() - 0.5f)], 40, 16);
        foreach (var form in new[] { VectorQuantization.Int8, VectorQuantization.UInt8 })
        {
            var own = EmbeddingQuantizer.Quantize(x, form);
            Assert.That(own.Data, Is.EqualTo(EmbeddingQuantizer.Quantize(x, form, QuantizationRanges.From(x)).Data));
            var lowest = form == VectorQuantization.Int8 ? -128 : 0;
            // Each dimension's minimum maps to the lowest code, its maximum to the highest or one below (float32's quotient truncated).
            for (var d = 0; d < 16; d++)
            {
                var column = Enumerable.Range(0, 40).Select(r => x[r, d]).ToList();
                Assert.That(own.RowValues(column.IndexOf(column.Min()))[d], Is.EqualTo(lowest));
                Assert.That(own.RowValues(column.IndexOf(column.Max()))[d], Is.InRange(lowest + 254, lowest + 255));
            }
        }

        Assert.Throws<ArgumentException>(() => EmbeddingQuantizer.Quantize(x, VectorQuantization.Int8, StepOne));
    }

    [Test]
    public void BinaryIsPackbitsOfPositiveValuesHighBitFirst()
    {
        // 10 dimensions: 1010 0011 | 10 (padded with zeros) → 0xA3, 0x80; zero is not positive.
        var x = new EmbeddingMatrix([1f, -1f, 1f, -1f, 0f, 0f, 2f, 3f, 1f, -1f], 1, 10);
        var ubinary = EmbeddingQuantizer.Quantize(x, VectorQuantization.UBinary);
        Assert.That(ubinary.BytesPerRow, Is.EqualTo(2));
        Assert.That(ubinary.RowValues(0), Is.EqualTo(new[] { 0xA3, 0x80 }));
        Assert.That(EmbeddingQuantizer.Quantize(x, VectorQuantization.Binary).RowValues(0), Is.EqualTo(new[] { 0xA3 - 128, 0 }));
    }

    [Test]
    public void MatryoshkaTruncationCutsThenNormalizes()
    {
        var x = new EmbeddingMatrix([3f, 4f, 12f, 0f, 0f, 5f], 2, 3);
        var cut = Matryoshka.Truncate(x, 2);
        Assert.That(cut.Data, Is.EqualTo(new[] { 0.6f, 0.8f, 0f, 0f }));
        Assert.That(Matryoshka.Truncate(x, 2, normalize: false).Data, Is.EqualTo(new[] { 3f, 4f, 0f, 0f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Matryoshka.Truncate(x, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Matryoshka.Truncate(x, 4));
    }

    private static int[] Values(QuantizedEmbeddings q) => [.. Enumerable.Range(0, q.Rows).SelectMany(q.RowValues)];
}
