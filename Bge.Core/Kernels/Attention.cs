using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Scaled dot-product attention for one head of one sequence: softmax(Q·Kᵀ·scale)·V over the sequence's own
/// tokens. Keys are packed once, pre-scaled, as panels of two vectors' worth of keys ([d × 2V]); then six queries
/// at a time get their scores from a 6 × 2V register-blocked kernel, a softmax, and their context from a 6 × 2V
/// kernel that reads the probability rows and the values in place. Small register blocks suit attention's shapes
/// (depth d for the scores, width d for the context), where packing the operands would cost as much as the
/// products. The same code runs at every width (the scalar path is its one-float instance); each score and each
/// context value is summed in the same order at every width, so only the softmax's sum differs in its last bit.
/// <see cref="Reference"/> is the plain loop it is tested against.
/// </summary>
public static class Attention
{
    private const int Rows = 6;
    private static int MaxPanel => 2 * Vec512.Count;

    private static int Padded(int n, int width) => (n + width - 1) / width * width;

    /// <summary>Floats of scratch <see cref="Head"/> needs for a sequence of <paramref name="length"/> and head size <paramref name="headSize"/>, at any width.</summary>
    public static int ScratchSize(int length, int headSize) => (Padded(length, MaxPanel) * headSize) + (length * headSize) + (Rows * Padded(length, MaxPanel));

    /// <summary>
    /// Computes one head at <paramref name="simd"/>. Q, K and V are read from <paramref name="qkv"/> (rows of
    /// <paramref name="stride"/> floats, query at <paramref name="queryOffset"/>, key and value at the given offsets);
    /// the result goes to <paramref name="context"/> rows of <paramref name="contextStride"/> floats at
    /// <paramref name="contextOffset"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is too small for the sequence.</exception>
    public static unsafe void Head(
        ReadOnlySpan<float> qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int headSize,
        float scale, Span<float> context, int contextStride, int contextOffset, Span<float> scratch, SimdWidth simd)
    {
        var d = headSize;
        if (length < 1 || d < 1 || scratch.Length < ScratchSize(length, d) || qkv.Length < ((length - 1) * stride) + Math.Max(queryOffset, Math.Max(keyOffset, valueOffset)) + d
            || context.Length < ((length - 1) * contextStride) + contextOffset + d)
        {
            throw new ArgumentException($"attention buffers are too small for a sequence of {length} with head size {d}");
        }

        fixed (float* pqkv = qkv, pctx = context, ps = scratch)
        {
            var head = new HeadOperands(pqkv, stride, queryOffset, keyOffset, valueOffset, length, d, scale, pctx, contextStride, contextOffset, ps);
            switch (simd)
            {
                case SimdWidth.Vector512:
                    Run<Vec512>(head);
                    break;
                case SimdWidth.Vector256:
                    Run<Vec256>(head);
                    break;
                case SimdWidth.Vector128:
                    Run<Vec128>(head);
                    break;
                default:
                    Run<Vec1>(head);
                    break;
            }
        }
    }

    private readonly unsafe struct HeadOperands(float* qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int d, float scale, float* context, int contextStride, int contextOffset, float* scratch)
    {
        public readonly float* Qkv = qkv;
        public readonly int Stride = stride;
        public readonly int QueryOffset = queryOffset;
        public readonly int KeyOffset = keyOffset;
        public readonly int ValueOffset = valueOffset;
        public readonly int Length = length;
        public readonly int D = d;
        public readonly float Scale = scale;
        public readonly float* Context = context;
        public readonly int ContextStride = contextStride;
        public readonly int ContextOffset = contextOffset;
        public readonly float* Scratch = scratch;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run<V>(HeadOperands h)
        where V : unmanaged, IVector<V>
    {
        var (d, length, width) = (h.D, h.Length, 2 * V.Count);
        var padded = Padded(length, width);
        float* keys = h.Scratch, values = keys + (padded * d), scores = values + (length * d);
        new Span<float>(keys + ((padded - width) * d), width * d).Clear();
        for (var j = 0; j < length; j++)
        {
            var row = h.Qkv + ((long)j * h.Stride);
            var panel = keys + (j / width * d * width) + (j % width);
            for (var t = 0; t < d; t++)
            {
                panel[t * width] = row[h.KeyOffset + t] * h.Scale;
            }

            new ReadOnlySpan<float>(row + h.ValueOffset, d).CopyTo(new Span<float>(values + (j * d), d));
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
                queries[r] = h.Qkv + ((long)i * h.Stride) + h.QueryOffset;
                outputs[r] = h.Context + ((long)i * h.ContextStride) + h.ContextOffset;
            }

            for (var p = 0; p < padded; p += width)
            {
                Scores<V>(queries, keys + (p * d), d, scores + p, padded);
            }

            // All six rows, duplicates included: a duplicate then writes exactly what its original writes.
            for (var r = 0; r < Rows; r++)
            {
                Softmax.InPlace(scores + (r * padded), length, V.Width);
            }

            Weighted<V>(scores, padded, values, d, length, outputs, rows);
        }
    }

    // scores[r, 0..2V) = Σ_t query_r[t] · panel[t, 0..2V)
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scores<V>(float** queries, float* panel, int d, float* scores, int ldScores)
        where V : unmanaged, IVector<V>
    {
        var n = V.Count;
        float* q0 = queries[0], q1 = queries[1], q2 = queries[2], q3 = queries[3], q4 = queries[4], q5 = queries[5];
        V s00 = V.Zero, s01 = V.Zero, s10 = V.Zero, s11 = V.Zero, s20 = V.Zero, s21 = V.Zero, s30 = V.Zero, s31 = V.Zero;
        V s40 = V.Zero, s41 = V.Zero, s50 = V.Zero, s51 = V.Zero;
        for (var t = 0; t < d; t++, panel += 2 * n)
        {
            var k0 = V.Load(panel);
            var k1 = V.Load(panel + n);
            var x = V.Create(q0[t]);
            V.MultiplyAddTo(ref s00, x, k0);
            V.MultiplyAddTo(ref s01, x, k1);
            x = V.Create(q1[t]);
            V.MultiplyAddTo(ref s10, x, k0);
            V.MultiplyAddTo(ref s11, x, k1);
            x = V.Create(q2[t]);
            V.MultiplyAddTo(ref s20, x, k0);
            V.MultiplyAddTo(ref s21, x, k1);
            x = V.Create(q3[t]);
            V.MultiplyAddTo(ref s30, x, k0);
            V.MultiplyAddTo(ref s31, x, k1);
            x = V.Create(q4[t]);
            V.MultiplyAddTo(ref s40, x, k0);
            V.MultiplyAddTo(ref s41, x, k1);
            x = V.Create(q5[t]);
            V.MultiplyAddTo(ref s50, x, k0);
            V.MultiplyAddTo(ref s51, x, k1);
        }

        V.Store(s00, scores);
        V.Store(s01, scores + n);
        V.Store(s10, scores + ldScores);
        V.Store(s11, scores + ldScores + n);
        V.Store(s20, scores + (2 * ldScores));
        V.Store(s21, scores + (2 * ldScores) + n);
        V.Store(s30, scores + (3 * ldScores));
        V.Store(s31, scores + (3 * ldScores) + n);
        V.Store(s40, scores + (4 * ldScores));
        V.Store(s41, scores + (4 * ldScores) + n);
        V.Store(s50, scores + (5 * ldScores));
        V.Store(s51, scores + (5 * ldScores) + n);
    }

    // output_r[f] = Σ_j p[r, j] · V[j, f]: two vectors of features at a time, then one, then single features.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Weighted<V>(float* p, int ldp, float* values, int d, int length, float** outputs, int rows)
        where V : unmanaged, IVector<V>
    {
        var n = V.Count;
        float* p0 = p, p1 = p + ldp, p2 = p + (2 * ldp), p3 = p + (3 * ldp), p4 = p + (4 * ldp), p5 = p + (5 * ldp);
        var f = 0;
        for (; f + (2 * n) <= d; f += 2 * n)
        {
            V o00 = V.Zero, o01 = V.Zero, o10 = V.Zero, o11 = V.Zero, o20 = V.Zero, o21 = V.Zero, o30 = V.Zero, o31 = V.Zero;
            V o40 = V.Zero, o41 = V.Zero, o50 = V.Zero, o51 = V.Zero;
            var v = values + f;
            for (var j = 0; j < length; j++, v += d)
            {
                var v0 = V.Load(v);
                var v1 = V.Load(v + n);
                var x = V.Create(p0[j]);
                V.MultiplyAddTo(ref o00, x, v0);
                V.MultiplyAddTo(ref o01, x, v1);
                x = V.Create(p1[j]);
                V.MultiplyAddTo(ref o10, x, v0);
                V.MultiplyAddTo(ref o11, x, v1);
                x = V.Create(p2[j]);
                V.MultiplyAddTo(ref o20, x, v0);
                V.MultiplyAddTo(ref o21, x, v1);
                x = V.Create(p3[j]);
                V.MultiplyAddTo(ref o30, x, v0);
                V.MultiplyAddTo(ref o31, x, v1);
                x = V.Create(p4[j]);
                V.MultiplyAddTo(ref o40, x, v0);
                V.MultiplyAddTo(ref o41, x, v1);
                x = V.Create(p5[j]);
                V.MultiplyAddTo(ref o50, x, v0);
                V.MultiplyAddTo(ref o51, x, v1);
            }

            V.Store(o00, outputs[0] + f);
            V.Store(o01, outputs[0] + f + n);
            V.Store(o10, outputs[1] + f);
            V.Store(o11, outputs[1] + f + n);
            V.Store(o20, outputs[2] + f);
            V.Store(o21, outputs[2] + f + n);
            V.Store(o30, outputs[3] + f);
            V.Store(o31, outputs[3] + f + n);
            V.Store(o40, outputs[4] + f);
            V.Store(o41, outputs[4] + f + n);
            V.Store(o50, outputs[5] + f);
            V.Store(o51, outputs[5] + f + n);
        }

        for (; f + n <= d; f += n)
        {
            V o0 = V.Zero, o1 = V.Zero, o2 = V.Zero, o3 = V.Zero, o4 = V.Zero, o5 = V.Zero;
            var v = values + f;
            for (var j = 0; j < length; j++, v += d)
            {
                var v0 = V.Load(v);
                V.MultiplyAddTo(ref o0, V.Create(p0[j]), v0);
                V.MultiplyAddTo(ref o1, V.Create(p1[j]), v0);
                V.MultiplyAddTo(ref o2, V.Create(p2[j]), v0);
                V.MultiplyAddTo(ref o3, V.Create(p3[j]), v0);
                V.MultiplyAddTo(ref o4, V.Create(p4[j]), v0);
                V.MultiplyAddTo(ref o5, V.Create(p5[j]), v0);
            }

            V.Store(o0, outputs[0] + f);
            V.Store(o1, outputs[1] + f);
            V.Store(o2, outputs[2] + f);
            V.Store(o3, outputs[3] + f);
            V.Store(o4, outputs[4] + f);
            V.Store(o5, outputs[5] + f);
        }

        for (; f < d; f++)
        {
            for (var r = 0; r < rows; r++)
            {
                var row = p + (r * ldp);
                var sum = 0f;
                for (var j = 0; j < length; j++)
                {
                    sum = Scalar.MultiplyAdd(row[j], values[(j * d) + f], sum);
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
