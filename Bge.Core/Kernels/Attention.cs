using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// Scaled dot-product attention for one head of one sequence: softmax(Q·Kᵀ·scale)·V over the sequence's own
/// tokens, in tiles so that memory and locality do not depend on the length. Keys are taken a tile at a time
/// (512 keys): the tile's keys are packed, pre-scaled, as panels of two vectors' worth of keys
/// ([d × 2V]) and its values copied into a dense [tile × d] block; then six queries at a time get their scores
/// against the tile from a 6 × 2V register-blocked kernel and fold the tile into their context with an online
/// softmax (flash-attention's scheme: per query a running maximum and sum; when a tile raises the maximum, the
/// partial context and sum are rescaled by e^(old − new)), the context accumulating in place in the output rows.
/// A block of six queries so works on one key tile and one value tile, whatever the length; the length only sets
/// the number of tiles. Queries are taken 768 at a time per packed key tile, which bounds the
/// running state while packing each tile once per query tile. Small register blocks suit attention's shapes
/// (depth d for the scores, width d for the context), where packing the operands would cost as much as the
/// products. The same code runs at every width (the scalar path is its one-float instance), the tile bounds do not
/// depend on the width, and every sum is taken in one order at every width: each score and each context value
/// term by term, each tile's sum of exponentials in fixed lanes (<see cref="Softmax"/>'s own sum is per lane, and so
/// differed in its last bit between widths when attention used it). The output is therefore the same bits at every
/// width.
/// <see cref="Reference"/> is the plain loop it is tested against.
/// </summary>
public static class Attention
{
    /// <summary>
    /// Keys per tile (a multiple of every width's panel, 2 × 16 floats). Measured with head size 64, 12 heads on
    /// one thread (the benchmarks' <c>long-attention --tiles</c>, CPU-time medians of five interleaved rounds on the
    /// AVX-512 EPYC while other builds loaded both cores): 256 keys cost 8-36% more than 512 at 512 to 8,192 tokens,
    /// 1,024 the same as 512 within the noise. 512 keys keep a tile's keys and values (256 KB) in a quarter of the
    /// 1 MB L2, beside the query and context rows the tile meets.
    /// </summary>
    internal const int KeyTile = 512;

    // Queries per packed key tile, a multiple of the six-query block. Packing a key costs about what one query's
    // products with it cost, so at 768 queries per tile packing is a fraction of a percent of the work.
    private const int QueryTile = 128 * Rows;

    private const int Rows = 6;
    private static int MaxPanel => 2 * Vec512.Count;

    private static int Padded(int n, int width) => (n + width - 1) / width * width;

    private static int KeysPerTile(int length, int keyTile) => Math.Min(keyTile, Padded(length, MaxPanel));

    private static int QueriesPerTile(int length) => Math.Min(QueryTile, Padded(length, Rows));

    /// <summary>
    /// Floats of scratch <see cref="Head"/> needs for a sequence of <paramref name="length"/> and head size
    /// <paramref name="headSize"/>, at any width. It grows with the length only up to one tile.
    /// </summary>
    public static int ScratchSize(int length, int headSize) => ScratchSize(length, headSize, KeyTile);

    internal static int ScratchSize(int length, int headSize, int keyTile)
    {
        var tile = KeysPerTile(length, keyTile);
        return (2 * tile * headSize) + (Rows * tile) + (2 * QueriesPerTile(length)) + headSize;
    }

    /// <summary>
    /// Computes one head at <paramref name="simd"/>. Q, K and V are read from <paramref name="qkv"/> (rows of
    /// <paramref name="stride"/> floats, query at <paramref name="queryOffset"/>, key and value at the given offsets);
    /// the result goes to <paramref name="context"/> rows of <paramref name="contextStride"/> floats at
    /// <paramref name="contextOffset"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer is too small for the sequence.</exception>
    public static void Head(
        ReadOnlySpan<float> qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int headSize,
        float scale, Span<float> context, int contextStride, int contextOffset, Span<float> scratch, SimdWidth simd) =>
        HeadWithKeyTile(qkv, stride, queryOffset, keyOffset, valueOffset, length, headSize, scale, context, contextStride, contextOffset, scratch, simd, KeyTile);

    // The same with another key tile (a multiple of 32): for the tests' tile edges and the benchmark that chose KeyTile.
    internal static unsafe void HeadWithKeyTile(
        ReadOnlySpan<float> qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int headSize,
        float scale, Span<float> context, int contextStride, int contextOffset, Span<float> scratch, SimdWidth simd, int keyTile)
    {
        var d = headSize;
        if (keyTile < MaxPanel || keyTile % MaxPanel != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keyTile), keyTile, $"a key tile is a positive multiple of {MaxPanel}");
        }

        if (length < 1 || d < 1 || scratch.Length < ScratchSize(length, d, keyTile) || qkv.Length < ((length - 1) * stride) + Math.Max(queryOffset, Math.Max(keyOffset, valueOffset)) + d
            || context.Length < ((length - 1) * contextStride) + contextOffset + d)
        {
            throw new ArgumentException($"attention buffers are too small for a sequence of {length} with head size {d}");
        }

        fixed (float* pqkv = qkv, pctx = context, ps = scratch)
        {
            var head = new HeadOperands(pqkv, stride, queryOffset, keyOffset, valueOffset, length, d, scale, pctx, contextStride, contextOffset, ps, keyTile);
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

    private readonly unsafe struct HeadOperands(float* qkv, int stride, int queryOffset, int keyOffset, int valueOffset, int length, int d, float scale, float* context, int contextStride, int contextOffset, float* scratch, int keyTile)
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
        public readonly int KeyTile = keyTile;

        public float* Query(int i) => Qkv + ((long)i * Stride) + QueryOffset;

        public float* Output(int i) => Context + ((long)i * ContextStride) + ContextOffset;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run<V>(HeadOperands h)
        where V : unmanaged, IVector<V>
    {
        var (d, length, width) = (h.D, h.Length, 2 * V.Count);
        var (tile, queryTile) = (KeysPerTile(length, h.KeyTile), QueriesPerTile(length));
        float* keys = h.Scratch, values = keys + (tile * d), scores = values + (tile * d), maxima = scores + (Rows * tile), sums = maxima + queryTile, sink = sums + queryTile;
        new Span<float>(sink, d).Clear();
        var queries = stackalloc float*[Rows];
        var outputs = stackalloc float*[Rows];
        var corrections = stackalloc float[Rows];
        var raised = stackalloc float[Rows];
        var tileSums = stackalloc float[Rows];
        for (var q0 = 0; q0 < length; q0 += queryTile)
        {
            var qEnd = Math.Min(q0 + queryTile, length);
            for (var k0 = 0; k0 < length; k0 += tile)
            {
                var (count, first) = (Math.Min(tile, length - k0), k0 == 0);
                var padded = Padded(count, width);
                Pack(h, k0, count, padded, width, keys, values);
                for (var i0 = q0; i0 < qEnd; i0 += Rows)
                {
                    var rows = Math.Min(Rows, qEnd - i0);
                    for (var r = 0; r < Rows; r++)
                    {
                        // Missing rows of the last block repeat its last query and write their context to a sink:
                        // a row's update reads its old context, which the original row has already replaced.
                        queries[r] = h.Query(i0 + Math.Min(r, rows - 1));
                        outputs[r] = r < rows ? h.Output(i0 + r) : sink;
                    }

                    for (var p = 0; p < padded; p += width)
                    {
                        Scores<V>(queries, keys + (p * d), d, scores + p, tile);
                    }

                    // Every row reads its running state before any row writes it, so a repeated row computes what
                    // its original computes (finite numbers, never stored). A maximum raised by more than the
                    // exponential's floor scales the old part by 0 rather than e⁻³⁰: below the float resolution of
                    // the new sum (at least 1) either way, and repeated floors would otherwise multiply into subnormals.
                    for (var r = 0; r < Rows; r++)
                    {
                        var row = scores + (r * tile);
                        var old = first ? float.NegativeInfinity : maxima[i0 + Math.Min(r, rows - 1) - q0];
                        var max = MathF.Max(old, Softmax.Max<V>(row, count));
                        raised[r] = max;
                        corrections[r] = old - max < Softmax.Floor ? 0f : Softmax.Exp(old - max);
                        Softmax.ExpInPlace<V>(row, count, max);
                        tileSums[r] = Softmax.SumInLanes<V>(row, count);
                    }

                    for (var r = 0; r < rows; r++)
                    {
                        var state = i0 + r - q0;
                        sums[state] = first ? tileSums[r] : (sums[state] * corrections[r]) + tileSums[r];
                        maxima[state] = raised[r];
                    }

                    Weighted<V>(scores, tile, values, d, count, outputs, corrections, first, rows);
                }
            }

            for (var i = q0; i < qEnd; i++)
            {
                Normalize<V>(h.Output(i), d, 1f / sums[i - q0]);
            }
        }
    }

    // Keys k0 .. k0 + count as panels [d × width], scaled, zeros past the last key; their values as dense rows [count × d].
    private static unsafe void Pack(HeadOperands h, int k0, int count, int padded, int width, float* keys, float* values)
    {
        var d = h.D;
        new Span<float>(keys + ((padded - width) * d), width * d).Clear();
        for (var j = 0; j < count; j++)
        {
            var row = h.Qkv + ((long)(k0 + j) * h.Stride);
            var panel = keys + (j / width * d * width) + (j % width);
            for (var t = 0; t < d; t++)
            {
                panel[t * width] = row[h.KeyOffset + t] * h.Scale;
            }

            new ReadOnlySpan<float>(row + h.ValueOffset, d).CopyTo(new Span<float>(values + (j * d), d));
        }
    }

    // row[0..d) *= inverse: the same bits at every width.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Normalize<V>(float* row, int d, float inverse)
        where V : unmanaged, IVector<V>
    {
        var (n, scale) = (V.Count, V.Create(inverse));
        var f = 0;
        for (; f + n <= d; f += n)
        {
            V.Store(V.Load(row + f) * scale, row + f);
        }

        for (; f < d; f++)
        {
            row[f] *= inverse;
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

    // output_r[f] = c_r · output_r[f] + Σ_j p[r, j] · V[j, f] (on the first tile, without the old output): two
    // vectors of features at a time, then one, then single features.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Weighted<V>(float* p, int ldp, float* values, int d, int count, float** outputs, float* corrections, bool first, int rows)
        where V : unmanaged, IVector<V>
    {
        var n = V.Count;
        float* p0 = p, p1 = p + ldp, p2 = p + (2 * ldp), p3 = p + (3 * ldp), p4 = p + (4 * ldp), p5 = p + (5 * ldp);
        float* out0 = outputs[0], out1 = outputs[1], out2 = outputs[2], out3 = outputs[3], out4 = outputs[4], out5 = outputs[5];
        var f = 0;

        // With 32 vector registers (512 bits), four vectors of features at a time: 24 accumulators, and 4 loads and
        // 6 broadcasts per 24 multiply-adds rather than per 12. Each output is still summed over j in order.
        for (; V.Width == SimdWidth.Vector512 && f + (4 * n) <= d; f += 4 * n)
        {
            V q00 = V.Zero, q01 = V.Zero, q02 = V.Zero, q03 = V.Zero;
            V q10 = V.Zero, q11 = V.Zero, q12 = V.Zero, q13 = V.Zero;
            V q20 = V.Zero, q21 = V.Zero, q22 = V.Zero, q23 = V.Zero;
            V q30 = V.Zero, q31 = V.Zero, q32 = V.Zero, q33 = V.Zero;
            V q40 = V.Zero, q41 = V.Zero, q42 = V.Zero, q43 = V.Zero;
            V q50 = V.Zero, q51 = V.Zero, q52 = V.Zero, q53 = V.Zero;
            var v = values + f;
            for (var j = 0; j < count; j++, v += d)
            {
                V v0 = V.Load(v), v1 = V.Load(v + n), v2 = V.Load(v + (2 * n)), v3 = V.Load(v + (3 * n));
                MultiplyAddTo(ref q00, ref q01, ref q02, ref q03, V.Create(p0[j]), v0, v1, v2, v3);
                MultiplyAddTo(ref q10, ref q11, ref q12, ref q13, V.Create(p1[j]), v0, v1, v2, v3);
                MultiplyAddTo(ref q20, ref q21, ref q22, ref q23, V.Create(p2[j]), v0, v1, v2, v3);
                MultiplyAddTo(ref q30, ref q31, ref q32, ref q33, V.Create(p3[j]), v0, v1, v2, v3);
                MultiplyAddTo(ref q40, ref q41, ref q42, ref q43, V.Create(p4[j]), v0, v1, v2, v3);
                MultiplyAddTo(ref q50, ref q51, ref q52, ref q53, V.Create(p5[j]), v0, v1, v2, v3);
            }

            Finish(q00, q01, q02, q03, out0 + f, corrections[0], first);
            Finish(q10, q11, q12, q13, out1 + f, corrections[1], first);
            Finish(q20, q21, q22, q23, out2 + f, corrections[2], first);
            Finish(q30, q31, q32, q33, out3 + f, corrections[3], first);
            Finish(q40, q41, q42, q43, out4 + f, corrections[4], first);
            Finish(q50, q51, q52, q53, out5 + f, corrections[5], first);
        }

        for (; f + (2 * n) <= d; f += 2 * n)
        {
            V o00 = V.Zero, o01 = V.Zero, o10 = V.Zero, o11 = V.Zero, o20 = V.Zero, o21 = V.Zero, o30 = V.Zero, o31 = V.Zero;
            V o40 = V.Zero, o41 = V.Zero, o50 = V.Zero, o51 = V.Zero;
            var v = values + f;
            for (var j = 0; j < count; j++, v += d)
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

            Finish(o00, o01, out0 + f, corrections[0], first);
            Finish(o10, o11, out1 + f, corrections[1], first);
            Finish(o20, o21, out2 + f, corrections[2], first);
            Finish(o30, o31, out3 + f, corrections[3], first);
            Finish(o40, o41, out4 + f, corrections[4], first);
            Finish(o50, o51, out5 + f, corrections[5], first);
        }

        for (; f + n <= d; f += n)
        {
            V o0 = V.Zero, o1 = V.Zero, o2 = V.Zero, o3 = V.Zero, o4 = V.Zero, o5 = V.Zero;
            var v = values + f;
            for (var j = 0; j < count; j++, v += d)
            {
                var v0 = V.Load(v);
                V.MultiplyAddTo(ref o0, V.Create(p0[j]), v0);
                V.MultiplyAddTo(ref o1, V.Create(p1[j]), v0);
                V.MultiplyAddTo(ref o2, V.Create(p2[j]), v0);
                V.MultiplyAddTo(ref o3, V.Create(p3[j]), v0);
                V.MultiplyAddTo(ref o4, V.Create(p4[j]), v0);
                V.MultiplyAddTo(ref o5, V.Create(p5[j]), v0);
            }

            Finish(o0, out0 + f, corrections[0], first);
            Finish(o1, out1 + f, corrections[1], first);
            Finish(o2, out2 + f, corrections[2], first);
            Finish(o3, out3 + f, corrections[3], first);
            Finish(o4, out4 + f, corrections[4], first);
            Finish(o5, out5 + f, corrections[5], first);
        }

        for (; f < d; f++)
        {
            for (var r = 0; r < rows; r++)
            {
                var row = p + (r * ldp);
                var sum = 0f;
                for (var j = 0; j < count; j++)
                {
                    sum = Scalar.MultiplyAdd(row[j], values[(j * d) + f], sum);
                }

                outputs[r][f] = first ? sum : Scalar.MultiplyAdd(outputs[r][f], corrections[r], sum);
            }
        }
    }

    // output = the old partial context rescaled to the new maximum, plus this tile's part; on the first tile the
    // tile's part alone (the output holds nothing yet, and 0 · garbage may be NaN). The accumulators start from zero
    // and meet the old context only here, so the inner loop is the plain product the first tile runs.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish<V>(V sum, float* output, float correction, bool first)
        where V : unmanaged, IVector<V> => V.Store(first ? sum : V.MultiplyAdd(V.Load(output), V.Create(correction), sum), output);

    // Two vectors of one row's features: output[0..2V).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish<V>(V low, V high, float* output, float correction, bool first)
        where V : unmanaged, IVector<V>
    {
        Finish(low, output, correction, first);
        Finish(high, output + V.Count, correction, first);
    }

    // Four vectors of one row's features: output[0..4V).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish<V>(V a0, V a1, V a2, V a3, float* output, float correction, bool first)
        where V : unmanaged, IVector<V>
    {
        Finish(a0, a1, output, correction, first);
        Finish(a2, a3, output + (2 * V.Count), correction, first);
    }

    // One row's four accumulators += x · (v0, v1, v2, v3).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAddTo<V>(ref V a0, ref V a1, ref V a2, ref V a3, V x, V v0, V v1, V v2, V v3)
        where V : unmanaged, IVector<V>
    {
        V.MultiplyAddTo(ref a0, x, v0);
        V.MultiplyAddTo(ref a1, x, v1);
        V.MultiplyAddTo(ref a2, x, v2);
        V.MultiplyAddTo(ref a3, x, v3);
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
