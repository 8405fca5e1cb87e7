namespace Bge.Core.Compression;

/// <summary>
/// Per-dimension [min, max] that int8 and uint8 quantization spread over 256 steps: from a calibration set of
/// embeddings, or the embeddings being quantized themselves, as sentence-transformers takes them.
/// </summary>
public sealed class QuantizationRanges
{
    /// <summary>Ranges from explicit minima and maxima.</summary>
    /// <exception cref="ArgumentException">The arrays differ in length, are empty, or a minimum exceeds its maximum or is not finite.</exception>
    public QuantizationRanges(float[] min, float[] max)
    {
        ArgumentNullException.ThrowIfNull(min);
        ArgumentNullException.ThrowIfNull(max);
        if (min.Length != max.Length || min.Length == 0)
        {
            throw new ArgumentException($"ranges need one minimum and one maximum per dimension: {min.Length} minima, {max.Length} maxima", nameof(max));
        }

        for (var i = 0; i < min.Length; i++)
        {
            if (!float.IsFinite(min[i]) || !float.IsFinite(max[i]) || min[i] > max[i])
            {
                throw new ArgumentException($"dimension {i}: range [{min[i]}, {max[i]}] is not a finite interval", nameof(min));
            }
        }

        (Min, Max) = (min, max);
        Steps = [.. min.Select((low, i) => (max[i] - low) / 255f)];
    }

    /// <summary>The smallest value of each dimension.</summary>
    public float[] Min { get; }

    /// <summary>The largest value of each dimension.</summary>
    public float[] Max { get; }

    /// <summary>Each dimension's step, (max − min) / 255 in float32, as numpy computes it.</summary>
    internal float[] Steps { get; }

    /// <summary>Number of dimensions.</summary>
    public int Dimension => Min.Length;

    /// <summary>The column-wise minimum and maximum of <paramref name="calibration"/>.</summary>
    /// <exception cref="ArgumentException">The matrix has no rows or holds a value that is not finite.</exception>
    public static QuantizationRanges From(EmbeddingMatrix calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        if (calibration.Rows == 0)
        {
            throw new ArgumentException("calibration needs at least one embedding", nameof(calibration));
        }

        var min = calibration.RowArray(0);
        var max = calibration.RowArray(0);
        for (var r = 1; r < calibration.Rows; r++)
        {
            var row = calibration.Row(r);
            System.Numerics.Tensors.TensorPrimitives.Min(min, row, min);
            System.Numerics.Tensors.TensorPrimitives.Max(max, row, max);
        }

        return new QuantizationRanges(min, max);
    }
}
