using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bge.Core.Kernels;

/// <summary>
/// Scaled dot-product attention for one head of one sequence: softmax(Q·Kᵀ·scale)·V over the sequence's own
/// tokens. Keys are packed once, pre-scaled, as panels of 16 keys ([d × 16]); then four queries at a time get
/// their scores from a 4 × 16 register-blocked kernel, a softmax, and their context from a 4 × 16 kernel that
/// reads the probability rows and the values in place. Small register blocks suit attention's shapes (depth d
/// for the scores, width d for the context), where packing the operands would cost as much as the products.
/// <see cref="Reference"/> is the plain loop it is tested against.
/// </summary>
public static class Attention
{
    private const int Width = 16;
    private const int Rows = 4;

    private static int Padded(int n) => (n + Width - 1) / Width * Width;

    /// <summary>Floats of scratch <see cref="Head"/> needs for a sequence of <paramref name="length"/> and head size <paramref name="headSize"/>.</summary>
    public static int ScratchSize(int length, int headSize) => (Padded(length) * headSize) + (length * headSize) + (Rows * Padded(length));

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

        var padded = Padded(length);
        var simd = Gemm.IsVectorized;
        fixed (float* pqkv = qkv, pctx = context, ps = scratch)
        {
            float* keys = ps, values = keys + (padded * d), scores = values + (length * d);
            new Span<float>(keys + ((padded - Width) * d), Width * d).Clear();
            for (var j = 0; j < length; j++)
            {
                var row = pqkv + ((long)j * stride);
                var panel = keys + (j / Width * d * Width) + (j % Width);
                for (var t = 0; t < d; t++)
                {
                    panel[t * Width] = row[keyOffset + t] * scale;
                }

                new ReadOnlySpan<float>(row + valueOffset, d).CopyTo(new Span<float>(values + (j * d), d));
            }

            var queries = stackalloc float*[Rows];
            var outputs = stackalloc float*[Rows];
            for (var i0 = 0; i0 < length; i0 += Rows)
            {
                var rows = Math.Min(Rows, length - i0);
                for (var r = 0; r < Rows; r++)
                {
                    // Missing rows of the last block repeat its last query; their results are never read.
                    var i = i0 + Math.Min(r, rows - 1);
                    queries[r] = pqkv + ((long)i * stride) + queryOffset;
                    outputs[r] = pctx + ((long)i * contextStride) + contextOffset;
                }

                for (var p = 0; p < padded; p += Width)
                {
                    if (simd)
                    {
                        Scores4x16(queries, keys + (p * d), d, scores + p, padded);
                    }
                    else
                    {
                        ScoresScalar(queries, keys + (p * d), d, scores + p, padded);
                    }
                }

                // All four rows, duplicates included: a duplicate then writes exactly what its original writes.
                for (var r = 0; r < Rows; r++)
                {
                    Softmax.InPlace(new Span<float>(scores + (r * padded), length));
                }

                if (simd)
                {
                    Weighted4(scores, padded, values, d, length, outputs, rows);
                }
                else
                {
                    WeightedScalar(scores, padded, values, d, length, outputs, rows);
                }
            }
        }
    }

    // scores[r, 0..16) = Σ_t query_r[t] · panel[t, 0..16)
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scores4x16(float** queries, float* panel, int d, float* scores, int ldScores)
    {
        float* q0 = queries[0], q1 = queries[1], q2 = queries[2], q3 = queries[3];
        Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        for (var t = 0; t < d; t++, panel += Width)
        {
            var k0 = Vector256.Load(panel);
            var k1 = Vector256.Load(panel + 8);
            var x = Vector256.Create(q0[t]);
            s00 = Vector256.FusedMultiplyAdd(x, k0, s00);
            s01 = Vector256.FusedMultiplyAdd(x, k1, s01);
            x = Vector256.Create(q1[t]);
            s10 = Vector256.FusedMultiplyAdd(x, k0, s10);
            s11 = Vector256.FusedMultiplyAdd(x, k1, s11);
            x = Vector256.Create(q2[t]);
            s20 = Vector256.FusedMultiplyAdd(x, k0, s20);
            s21 = Vector256.FusedMultiplyAdd(x, k1, s21);
            x = Vector256.Create(q3[t]);
            s30 = Vector256.FusedMultiplyAdd(x, k0, s30);
            s31 = Vector256.FusedMultiplyAdd(x, k1, s31);
        }

        s00.Store(scores);
        s01.Store(scores + 8);
        s10.Store(scores + ldScores);
        s11.Store(scores + ldScores + 8);
        s20.Store(scores + (2 * ldScores));
        s21.Store(scores + (2 * ldScores) + 8);
        s30.Store(scores + (3 * ldScores));
        s31.Store(scores + (3 * ldScores) + 8);
    }

    private static unsafe void ScoresScalar(float** queries, float* panel, int d, float* scores, int ldScores)
    {
        for (var r = 0; r < Rows; r++)
        {
            for (var j = 0; j < Width; j++)
            {
                var s = 0f;
                for (var t = 0; t < d; t++)
                {
                    s = MathF.FusedMultiplyAdd(queries[r][t], panel[(t * Width) + j], s);
                }

                scores[(r * ldScores) + j] = s;
            }
        }
    }

    // output_r[f] = Σ_j p[r, j] · V[j, f], sixteen features at a time, then eight, then one.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Weighted4(float* p, int ldp, float* values, int d, int length, float** outputs, int rows)
    {
        float* p0 = p, p1 = p + ldp, p2 = p + (2 * ldp), p3 = p + (3 * ldp);
        var f = 0;
        for (; f + 16 <= d; f += 16)
        {
            Vector256<float> o00 = default, o01 = default, o10 = default, o11 = default, o20 = default, o21 = default, o30 = default, o31 = default;
            var v = values + f;
            for (var j = 0; j < length; j++, v += d)
            {
                var v0 = Vector256.Load(v);
                var v1 = Vector256.Load(v + 8);
                var x = Vector256.Create(p0[j]);
                o00 = Vector256.FusedMultiplyAdd(x, v0, o00);
                o01 = Vector256.FusedMultiplyAdd(x, v1, o01);
                x = Vector256.Create(p1[j]);
                o10 = Vector256.FusedMultiplyAdd(x, v0, o10);
                o11 = Vector256.FusedMultiplyAdd(x, v1, o11);
                x = Vector256.Create(p2[j]);
                o20 = Vector256.FusedMultiplyAdd(x, v0, o20);
                o21 = Vector256.FusedMultiplyAdd(x, v1, o21);
                x = Vector256.Create(p3[j]);
                o30 = Vector256.FusedMultiplyAdd(x, v0, o30);
                o31 = Vector256.FusedMultiplyAdd(x, v1, o31);
            }

            o00.Store(outputs[0] + f);
            o01.Store(outputs[0] + f + 8);
            o10.Store(outputs[1] + f);
            o11.Store(outputs[1] + f + 8);
            o20.Store(outputs[2] + f);
            o21.Store(outputs[2] + f + 8);
            o30.Store(outputs[3] + f);
            o31.Store(outputs[3] + f + 8);
        }

        for (; f < d; f++)
        {
            for (var r = 0; r < rows; r++)
            {
                var row = p + (r * ldp);
                var sum = 0f;
                for (var j = 0; j < length; j++)
                {
                    sum = MathF.FusedMultiplyAdd(row[j], values[(j * d) + f], sum);
                }

                outputs[r][f] = sum;
            }
        }
    }

    private static unsafe void WeightedScalar(float* p, int ldp, float* values, int d, int length, float** outputs, int rows)
    {
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < d; f++)
            {
                var sum = 0f;
                for (var j = 0; j < length; j++)
                {
                    sum = MathF.FusedMultiplyAdd(p[(r * ldp) + j], values[(j * d) + f], sum);
                }

                outputs[r][f] = sum;
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
