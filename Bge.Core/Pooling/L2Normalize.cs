using System.Numerics.Tensors;

namespace Bge.Core.Pooling;

/// <summary>L2 normalization, as sentence-transformers' Normalize: v / max(‖v‖, 1e-12).</summary>
public static class L2Normalize
{
    /// <summary>Scales <paramref name="vector"/> to unit length in place (a zero vector stays zero).</summary>
    public static void InPlace(Span<float> vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        TensorPrimitives.Divide(vector, MathF.Max(norm, 1e-12f), vector);
    }
}
