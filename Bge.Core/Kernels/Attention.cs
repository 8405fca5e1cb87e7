using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// Scaled dot-product attention for one head of one sequence: softmax(Q·Kᵀ·scale)·V over the sequence's own
/// tokens. Keys are gathered transposed ([d × L]) and values contiguous ([L × d]) so both products run as
/// Vector256 FMA loops over contiguous memory. <see cref="Reference"/> is the plain loop it is tested against.
/// </summary>
public static class Attention
{
    /// <summary>Floats of scratch <see cref="Head"/> needs for a sequence of <paramref name="length"/> and head size <paramref name="headSize"/>.</summary>
    public static int ScratchSize(int length, int headSize) => (2 * length * headSize) + length + 8;

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
        if (scratch.Length < ScratchSize(length, d) || qkv.Length < length * stride || context.Length < ((length - 1) * contextStride) + contextOffset + d)
        {
            throw new ArgumentException("attention buffers are too small for the sequence");
        }

        fixed (float* pqkv = qkv, pctx = context, ps = scratch)
        {
            float* keysT = ps, values = ps + (length * d), scores = values + (length * d);
            for (var j = 0; j < length; j++)
            {
                var row = pqkv + ((long)j * stride);
                for (var t = 0; t < d; t++)
                {
                    keysT[(t * length) + j] = row[keyOffset + t];
                }

                new ReadOnlySpan<float>(row + valueOffset, d).CopyTo(new Span<float>(values + (j * d), d));
            }

            for (var i = 0; i < length; i++)
            {
                var query = pqkv + ((long)i * stride) + queryOffset;
                Scores(query, keysT, d, length, scale, scores);
                Softmax.InPlace(new Span<float>(scores, length));
                Weighted(scores, values, d, length, pctx + ((long)i * contextStride) + contextOffset);
            }
        }
    }

    // scores[j] = scale · Σ_t q[t]·Kᵀ[t, j]
    private static unsafe void Scores(float* query, float* keysT, int d, int length, float scale, float* scores)
    {
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 32 <= length; j += 32)
            {
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (var t = 0; t < d; t++)
                {
                    var q = Vector256.Create(query[t]);
                    var k = keysT + (t * length) + j;
                    s0 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k), s0);
                    s1 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + 8), s1);
                    s2 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + 16), s2);
                    s3 = Vector256.FusedMultiplyAdd(q, Vector256.Load(k + 24), s3);
                }

                var f = Vector256.Create(scale);
                (s0 * f).Store(scores + j);
                (s1 * f).Store(scores + j + 8);
                (s2 * f).Store(scores + j + 16);
                (s3 * f).Store(scores + j + 24);
            }

            for (; j + 8 <= length; j += 8)
            {
                Vector256<float> s = default;
                for (var t = 0; t < d; t++)
                {
                    s = Vector256.FusedMultiplyAdd(Vector256.Create(query[t]), Vector256.Load(keysT + (t * length) + j), s);
                }

                (s * Vector256.Create(scale)).Store(scores + j);
            }
        }

        for (; j < length; j++)
        {
            var s = 0f;
            for (var t = 0; t < d; t++)
            {
                s = MathF.FusedMultiplyAdd(query[t], keysT[(t * length) + j], s);
            }

            scores[j] = s * scale;
        }
    }

    // output[t] = Σ_j p[j]·V[j, t]
    private static unsafe void Weighted(float* probabilities, float* values, int d, int length, float* output)
    {
        var t = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; t + 32 <= d; t += 32)
            {
                Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
                for (var j = 0; j < length; j++)
                {
                    var p = Vector256.Create(probabilities[j]);
                    var v = values + (j * d) + t;
                    o0 = Vector256.FusedMultiplyAdd(p, Vector256.Load(v), o0);
                    o1 = Vector256.FusedMultiplyAdd(p, Vector256.Load(v + 8), o1);
                    o2 = Vector256.FusedMultiplyAdd(p, Vector256.Load(v + 16), o2);
                    o3 = Vector256.FusedMultiplyAdd(p, Vector256.Load(v + 24), o3);
                }

                o0.Store(output + t);
                o1.Store(output + t + 8);
                o2.Store(output + t + 16);
                o3.Store(output + t + 24);
            }

            for (; t + 8 <= d; t += 8)
            {
                Vector256<float> o = default;
                for (var j = 0; j < length; j++)
                {
                    o = Vector256.FusedMultiplyAdd(Vector256.Create(probabilities[j]), Vector256.Load(values + (j * d) + t), o);
                }

                o.Store(output + t);
            }
        }

        for (; t < d; t++)
        {
            var o = 0f;
            for (var j = 0; j < length; j++)
            {
                o = MathF.FusedMultiplyAdd(probabilities[j], values[(j * d) + t], o);
            }

            output[t] = o;
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
