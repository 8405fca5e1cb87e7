using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Scaled dot-product attention for one head of one sequence: softmax(Q·Kᵀ·scale)·V over the sequence's own
/// tokens. Both products run on the GEMM micro-kernel: keys are packed (pre-scaled) as panels of 16 keys and
/// values as panels of 16 features, then queries go through in blocks of 48, so a block's score rows stay in
/// cache between the two products. <see cref="Reference"/> is the plain loop it is tested against.
/// </summary>
public static class Attention
{
    private const int Width = PackedWeight.PanelWidth;
    private const int QueryBlock = 48;

    private static int Padded(int n) => (n + Width - 1) / Width * Width;

    /// <summary>Floats of scratch <see cref="Head"/> needs for a sequence of <paramref name="length"/> and head size <paramref name="headSize"/>.</summary>
    public static int ScratchSize(int length, int headSize) =>
        (Padded(length) * headSize) + (Padded(headSize) * length) + (Math.Min(length, QueryBlock) * length) + Math.Max(Padded(length), Padded(headSize));

    /// <summary>
    /// Computes one head. Q, K and V are read from <paramref name="qkv"/> (rows of <paramref name="stride"/> floats,
    /// query at <paramref name="queryOffset"/>, key and value at the given offsets); the result goes to
    /// <paramref name="context"/> rows of <paramref name="contextStride"/> floats at <paramref name="contextOffset"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Head(
        ReadOnlySpan<float> qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int headSize,
        float scale, Span<float> context, int contextStride, int contextOffset, Span<float> scratch)
    {
        var d = headSize;
        if (length < 1 || scratch.Length < ScratchSize(length, d) || qkv.Length < ((length - 1) * stride) + Math.Max(queryOffset, Math.Max(keyOffset, valueOffset)) + d
            || context.Length < ((length - 1) * contextStride) + contextOffset + d)
        {
            throw new ArgumentException("attention buffers are too small for the sequence");
        }

        scratch[..ScratchSize(length, d)].Clear();
        fixed (float* pqkv = qkv, pctx = context, ps = scratch)
        {
            float* keys = ps, values = keys + (Padded(length) * d), scores = values + (Padded(d) * length), zero = scores + (Math.Min(length, QueryBlock) * length);
            for (var j = 0; j < length; j++)
            {
                var row = pqkv + ((long)j * stride);
                var keyPanel = keys + (j / Width * d * Width) + (j % Width);
                for (var t = 0; t < d; t++)
                {
                    keyPanel[t * Width] = row[keyOffset + t] * scale;
                    values[(t / Width * length * Width) + (j * Width) + (t % Width)] = row[valueOffset + t];
                }
            }

            var simd = Gemm.IsVectorized;
            for (var q0 = 0; q0 < length; q0 += QueryBlock)
            {
                var rows = Math.Min(QueryBlock, length - q0);
                // (rows, d) · (d, L) -> (rows, L) scores, already scaled through the keys
                Gemm.Multiply(pqkv + ((long)q0 * stride) + queryOffset, stride, rows, d, keys, zero, length, scores, length, 1, simd);
                for (var i = 0; i < rows; i++)
                {
                    Softmax.InPlace(new Span<float>(scores + (i * length), length));
                }

                // (rows, L) · (L, d) -> (rows, d) context
                Gemm.Multiply(scores, length, rows, length, values, zero, d, pctx + ((long)q0 * contextStride) + contextOffset, contextStride, 1, simd);
            }
        }
    }

    /// <summary>The plain twin, in double: q, k, v are [length × d] each; returns [length × d].</summary>
    public static float[] Reference(float[] q, float[] k, float[] v, int length, int d, float scale)
    {
        var output = new float[length * d];
        var weights = new double[length];
        for (var i = 0; i < length; i++)
        {
            var max = double.NegativeInfinity;
            for (var j = 0; j < length; j++)
            {
                double s = 0;
                for (var t = 0; t < d; t++)
                {
                    s += (double)q[(i * d) + t] * k[(j * d) + t];
                }

                weights[j] = s * scale;
                max = Math.Max(max, weights[j]);
            }

            double sum = 0;
            for (var j = 0; j < length; j++)
            {
                weights[j] = Math.Exp(weights[j] - max);
                sum += weights[j];
            }

            for (var t = 0; t < d; t++)
            {
                double o = 0;
                for (var j = 0; j < length; j++)
                {
                    o += weights[j] / sum * v[(j * d) + t];
                }

                output[(i * d) + t] = (float)o;
            }
        }

        return output;
    }
}
