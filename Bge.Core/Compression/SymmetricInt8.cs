using System.Numerics.Tensors;

namespace Bge.Core.Compression;

/// <summary>One vector to int8 around zero: scale = max |x| / 127, each value rounded to the nearest step.</summary>
internal static class SymmetricInt8
{
    /// <summary>Writes the codes of <paramref name="values"/> and returns the scale (0, and all codes 0, for a zero vector).</summary>
    public static float Quantize(ReadOnlySpan<float> values, Span<sbyte> codes)
    {
        var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(values)) / 127f;
        if (!(scale > 0))
        {
            codes[..values.Length].Clear();
            return 0f;
        }

        for (var i = 0; i < values.Length; i++)
        {
            codes[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scale), -127f, 127f);
        }

        return scale;
    }
}
