using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Bge.Core.Kernels;

/// <summary>
/// The int8 GEMM (dynamic quantization): each row of A is quantized at run time across its own range, with a zero
/// point (<see cref="QuantizeRow"/>), multiplied by the int8 panels of W (<see cref="PackedWeight.Int8"/>) with
/// exact int32 accumulation, the zero point's share taken out in integers, then C = sum · (row scale · column scale)
/// + bias in fp32. The integer sums are exact, so every kernel, at every width
/// and thread count, gives the same bits as <see cref="ReferenceInt8"/>, the plain loop it is tested against.
/// <para>
/// A is packed in strips of <see cref="Int8StripRows"/> rows, four inputs of a row side by side ([depth/4 × rows × 4]
/// bytes), so that one 32-bit broadcast feeds a four-way byte dot product against a panel's
/// [depth/4 × columns × 4] bytes. The kernels (<c>Int8Dot.cs</c>) differ only in that product.
/// </para>
/// </summary>
public static partial class Gemm
{
    /// <summary>Rows of A per int8 micro-kernel call.</summary>
    public const int Int8StripRows = 4;

    /// <summary>The four-way byte dot products the int8 GEMM can run on.</summary>
    internal enum Int8Kernel
    {
        /// <summary>Plain integer loops (any panel width).</summary>
        Scalar,

        /// <summary>SSSE3 at 128 bits: |a| × (w with a's sign) pairs (PMADDUBSW), then pairs of pairs (PMADDWD).</summary>
        Ssse3,

        /// <summary>AVX2 at 256 bits, as <see cref="Ssse3"/>.</summary>
        Avx2,

        /// <summary>AVX-VNNI at 256 bits: unsigned a + 128 against signed w in one VPDPBUSD, corrected by 128 · Σw.</summary>
        AvxVnni,

        /// <summary>AVX2 computing exactly what VPDPBUSD computes (a + 128, corrected) from 16-bit products: the VNNI formulation, testable without VNNI.</summary>
        Avx2Unsigned,

        /// <summary>ARM64 SDOT (signed four-way dot product, the Dp extension).</summary>
        ArmDot,

        /// <summary>AVX-512BW at 512 bits without VNNI: weights sign-extended to int16 as they are read, activations packed as int16, PMADDWD pairs.</summary>
        Avx512Widened,
    }

    /// <summary>Output columns per int8 panel at <paramref name="simd"/>: 16 at 256 and 512 bits (two 256-bit vectors of int32: .NET has no 512-bit VNNI), 8 at 128 bits, 2 on the scalar path.</summary>
    public static int Int8PanelWidth(SimdWidth simd) => simd switch
    {
        SimdWidth.Vector512 or SimdWidth.Vector256 => 16,
        SimdWidth.Vector128 => 8,
        _ => 2,
    };

    /// <summary>Whether <paramref name="kernel"/> runs here on panels of <paramref name="panelWidth"/> columns.</summary>
    internal static bool Int8KernelRuns(Int8Kernel kernel, int panelWidth) => kernel switch
    {
        Int8Kernel.Scalar => true,
        Int8Kernel.Ssse3 => panelWidth == 8 && Int8Dot.Ssse3.IsSupported,
        Int8Kernel.ArmDot => panelWidth == 8 && Int8Dot.ArmDot.IsSupported,
        Int8Kernel.Avx2 => panelWidth == 16 && Int8Dot.Avx2.IsSupported,
        Int8Kernel.Avx2Unsigned => panelWidth == 16 && Int8Dot.Avx2Unsigned.IsSupported,
        Int8Kernel.AvxVnni => panelWidth == 16 && Int8Dot.Vnni.IsSupported,
        Int8Kernel.Avx512Widened => panelWidth == 16 && System.Runtime.Intrinsics.X86.Avx512BW.IsSupported,
        _ => false,
    };

    private static unsafe void LinearInt8(ReadOnlySpan<float> a, int m, PackedWeight weight, Span<float> c, int parallelism, Epilogue epilogue) =>
        LinearInt8(a, m, weight, c, parallelism, epilogue, BestInt8Kernel(weight.Simd));

    /// <summary><see cref="Linear"/> for an int8 weight on a chosen kernel (tests run each one the CPU has).</summary>
    internal static unsafe void LinearInt8(ReadOnlySpan<float> a, int m, PackedWeight weight, Span<float> c, int parallelism, Epilogue epilogue, Int8Kernel kernel)
    {
        if (!Int8KernelRuns(kernel, weight.PanelWidth))
        {
            throw new PlatformNotSupportedException($"the {kernel} int8 kernel does not run here on panels of {weight.PanelWidth} columns");
        }

        int k = weight.In, depth = weight.Depth, n = weight.Out, width = weight.PanelWidth;
        const int strip = Int8StripRows;
        // Whole kernel calls' worth of strips: the rows past m are zero.
        var callRows = KernelRows(kernel);
        var strips = (m + callRows - 1) / callRows * callRows / strip;
        var form = kernel switch
        {
            Int8Kernel.AvxVnni or Int8Kernel.Avx2Unsigned => ActivationForm.Offset,
            Int8Kernel.Avx512Widened => ActivationForm.Widened,
            _ => ActivationForm.Signed,
        };
        var bytesPerValue = form == ActivationForm.Widened ? 2 : 1;
        var quantized = System.Buffers.ArrayPool<sbyte>.Shared.Rent(Math.Max(1, strips * strip * depth * bytesPerValue));
        var rowScales = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, strips * strip));
        var rowZeros = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, strips * strip));
        try
        {
            fixed (float* pa = a, pc = c, ps = rowScales, pscale = weight.Scales, pb = weight.Bias)
            fixed (sbyte* pq = quantized, pw = weight.Int8)
            fixed (int* psum = weight.ColumnSums, pz = rowZeros)
            {
                var (aa, qq, ss, zz) = ((nint)pa, (nint)pq, (nint)ps, (nint)pz);
                WorkerTeam.For(strips, WorkerTeam.ThreadsFor((long)m * k * 16, parallelism), s =>
                    QuantizeStrip((float*)aa, k, depth, s * strip, Math.Min(m, (s + 1) * strip), (sbyte*)qq + ((long)s * strip * depth * bytesPerValue), (float*)ss + (s * strip), (int*)zz + (s * strip), form));
                var o = new Int8Operands(pq, rowScales: ps, pz, m, depth, pw, pscale, psum, pb, n, width, pc);
                MultiplyInt8(o, parallelism, epilogue, kernel, weight.Simd);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<sbyte>.Shared.Return(quantized);
            System.Buffers.ArrayPool<float>.Shared.Return(rowScales);
            System.Buffers.ArrayPool<int>.Shared.Return(rowZeros);
        }
    }

    private readonly unsafe struct Int8Operands(sbyte* a, float* rowScales, int* rowZeros, int m, int depth, sbyte* panels, float* scales, int* sums, float* bias, int n, int width, float* c)
    {
        public readonly sbyte* A = a;
        public readonly float* RowScales = rowScales;
        public readonly int* RowZeros = rowZeros;
        public readonly int M = m;
        public readonly int Depth = depth;
        public readonly sbyte* Panels = panels;
        public readonly float* Scales = scales;
        public readonly int* Sums = sums;
        public readonly float* Bias = bias;
        public readonly int N = n;
        public readonly int Width = width;
        public readonly float* C = c;
    }

    private static unsafe void MultiplyInt8(Int8Operands o, int parallelism, Epilogue epilogue, Int8Kernel kernel, SimdWidth simd)
    {
        parallelism = WorkerTeam.ThreadsFor((long)o.M * o.Depth * o.N / 2, parallelism);
        var panelCount = (o.N + o.Width - 1) / o.Width;
        var (rowTiles, tileRows) = RowTiles(o.M, KernelRows(kernel), parallelism);
        var panelTiles = parallelism <= 1 ? 1 : Math.Min(panelCount, Math.Max(1, ((2 * parallelism) + rowTiles - 1) / rowTiles));
        var panelsPerTile = (panelCount + panelTiles - 1) / panelTiles;
        void Run(int t)
        {
            var r0 = t / panelTiles * tileRows;
            var p0 = t % panelTiles * panelsPerTile;
            var (r1, p1) = (Math.Min(o.M, r0 + tileRows), Math.Min(panelCount, p0 + panelsPerTile));
            TileInt8(o, r0, r1, p0, p1, kernel);
            if (epilogue == Epilogue.Gelu)
            {
                var (c0, c1) = (p0 * o.Width, Math.Min(o.N, p1 * o.Width));
                for (var row = r0; row < r1; row++)
                {
                    Kernels.Gelu.InPlace(o.C + ((long)row * o.N) + c0, c1 - c0, simd);
                }
            }
        }

        WorkerTeam.For(rowTiles * panelTiles, parallelism, Run);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TileInt8(Int8Operands o, int r0, int r1, int p0, int p1, Int8Kernel kernel)
    {
        var rows = KernelRows(kernel);
        var acc = stackalloc int[rows * o.Width];
        var groups = o.Depth / 4;
        for (var p = p0; p < p1; p++)
        {
            var col = p * o.Width;
            var panel = o.Panels + ((long)p * o.Depth * o.Width);
            for (var row = r0; row < r1; row += rows)
            {
                var a = o.A + ((long)row * o.Depth);
                var sums = o.Sums + col;
                MicroKernel(kernel, kernel == Int8Kernel.Avx512Widened ? (sbyte*)((short*)o.A + ((long)row * o.Depth)) : a, groups, panel, acc, sums, o.Width);
                Dequantize(acc, o, row, Math.Min(rows, r1 - row), col, Math.Min(o.Width, o.N - col));
            }
        }
    }

    /// <summary>Rows of A per call of <paramref name="kernel"/>: one strip, or two for the 512-bit kernel, which has the registers to read its weights once for both.</summary>
    internal static int KernelRows(Int8Kernel kernel) => kernel == Int8Kernel.Avx512Widened ? 2 * Int8StripRows : Int8StripRows;

    /// <summary>One call's strips (<see cref="KernelRows"/>) against one panel: acc[rows × width] = strip · panel over <paramref name="groups"/> groups of four inputs, on <paramref name="kernel"/>.</summary>
    internal static unsafe void MicroKernel(Int8Kernel kernel, sbyte* strip, int groups, sbyte* panel, int* acc, int* columnSums, int width = 16)
    {
        switch (kernel)
        {
            case Int8Kernel.Avx512Widened:
                Int8Dot.Widened512((short*)strip, groups, panel, acc);
                break;
            case Int8Kernel.AvxVnni:
                Int8Dot.Kernel<Int8Dot.Vnni, Vector256<int>>(strip, groups, panel, acc, columnSums);
                break;
            case Int8Kernel.Avx2:
                Int8Dot.Kernel<Int8Dot.Avx2, Vector256<int>>(strip, groups, panel, acc, columnSums);
                break;
            case Int8Kernel.Avx2Unsigned:
                Int8Dot.Kernel<Int8Dot.Avx2Unsigned, Vector256<int>>(strip, groups, panel, acc, columnSums);
                break;
            case Int8Kernel.Ssse3:
                Int8Dot.Kernel<Int8Dot.Ssse3, Vector128<int>>(strip, groups, panel, acc, columnSums);
                break;
            case Int8Kernel.ArmDot:
                Int8Dot.Kernel<Int8Dot.ArmDot, Vector128<int>>(strip, groups, panel, acc, columnSums);
                break;
            default:
                Int8Dot.ScalarKernel(strip, groups, panel, width, acc);
                break;
        }
    }

    // C[row + r, col + j] = (acc[r, j] − zero[r] · Σw[j]) · (rowScale · columnScale) + bias: the zero point's share
    // taken out in exact integers, then fp32, the products never fused, so that the vector and the scalar loop give
    // the same bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Dequantize(int* acc, Int8Operands o, int row, int rows, int col, int columns)
    {
        if (columns == 16 && o.Width == 16 && Vector512.IsHardwareAccelerated)
        {
            // A whole panel: its columns' scales, sums and biases read once for all the rows.
            var (scales, sums, bias) = (Vector512.Load(o.Scales + col), Vector512.Load(o.Sums + col), Vector512.Load(o.Bias + col));
            for (var r = 0; r < rows; r++)
            {
                var exact = Vector512.Load(acc + (r * 16)) - (Vector512.Create(o.RowZeros[row + r]) * sums);
                ((Vector512.ConvertToSingle(exact) * (Vector512.Create(o.RowScales[row + r]) * scales)) + bias).Store(o.C + ((long)(row + r) * o.N) + col);
            }

            return;
        }

        for (var r = 0; r < rows; r++)
        {
            var (rowScale, zero) = (o.RowScales[row + r], o.RowZeros[row + r]);
            var target = o.C + ((long)(row + r) * o.N) + col;
            var source = acc + (r * o.Width);
            var j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= columns; j += 8)
                {
                    var scale = Vector256.Create(rowScale) * Vector256.Load(o.Scales + col + j);
                    var exact = Vector256.Load(source + j) - (Vector256.Create(zero) * Vector256.Load(o.Sums + col + j));
                    ((Vector256.ConvertToSingle(exact) * scale) + Vector256.Load(o.Bias + col + j)).Store(target + j);
                }
            }

            for (; j < columns; j++)
            {
                var scale = rowScale * o.Scales[col + j];
                target[j] = ((float)(source[j] - (zero * o.Sums[col + j])) * scale) + o.Bias[col + j];
            }
        }
    }

    /// <summary>How a kernel wants the quantized activations stored.</summary>
    private enum ActivationForm
    {
        /// <summary>int8 as quantized.</summary>
        Signed,

        /// <summary>Every byte + 128: the unsigned operand VPDPBUSD wants.</summary>
        Offset,

        /// <summary>int16: the operand of PMADDWD.</summary>
        Widened,
    }

    // Rows r0..r1 of A (k wide) into one strip [depth/4 × Int8StripRows × 4], their scales and zero points; rows past
    // r1 and inputs past k are zero (the weights there are zero too). The strip is stored in the kernel's form, so
    // that the kernel broadcasts its activations straight from memory.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void QuantizeStrip(float* a, int k, int depth, int r0, int r1, sbyte* strip, float* scales, int* zeros, ActivationForm form)
    {
        // The rows one after another first (each quantized in one pass), then interleaved into the strip.
        var rows = stackalloc sbyte[Int8StripRows * depth];
        for (var r = 0; r < Int8StripRows; r++)
        {
            var row = rows + (r * depth);
            if (r0 + r >= r1)
            {
                (scales[r], zeros[r]) = (0, 0);
                new Span<sbyte>(row, depth).Clear();
                continue;
            }

            scales[r] = QuantizeRow(new ReadOnlySpan<float>(a + ((long)(r0 + r) * k), k), new Span<sbyte>(row, k), out zeros[r]);
            new Span<sbyte>(row + k, depth - k).Clear();
        }

        var g = 0;
        if (Sse2.IsSupported || AdvSimd.Arm64.IsSupported)
        {
            // Four groups of the four rows at a time: a 4 × 4 transpose of int32s.
            for (; g + 4 <= depth / 4; g += 4)
            {
                var (x0, x1, x2, x3) = (Vector128.Load((int*)(rows + (4 * g))), Vector128.Load((int*)(rows + depth + (4 * g))), Vector128.Load((int*)(rows + (2 * depth) + (4 * g))), Vector128.Load((int*)(rows + (3 * depth) + (4 * g))));
                var (t0, t1, t2, t3) = (ZipLow(x0, x1).AsInt64(), ZipLow(x2, x3).AsInt64(), ZipHigh(x0, x1).AsInt64(), ZipHigh(x2, x3).AsInt64());
                StoreGroup(ZipLow(t0, t1).AsSByte(), strip, g, form);
                StoreGroup(ZipHigh(t0, t1).AsSByte(), strip, g + 1, form);
                StoreGroup(ZipLow(t2, t3).AsSByte(), strip, g + 2, form);
                StoreGroup(ZipHigh(t2, t3).AsSByte(), strip, g + 3, form);
            }
        }

        for (; g < depth / 4; g++)
        {
            var group = Vector128.Create(*(int*)(rows + (4 * g)), *(int*)(rows + depth + (4 * g)), *(int*)(rows + (2 * depth) + (4 * g)), *(int*)(rows + (3 * depth) + (4 * g)));
            StoreGroup(group.AsSByte(), strip, g, form);
        }
    }

    // Group g of a strip (its four rows' four bytes), in the kernel's form: as is, + 128, or widened to int16.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreGroup(Vector128<sbyte> group, sbyte* strip, int g, ActivationForm form)
    {
        switch (form)
        {
            case ActivationForm.Offset:
                (group ^ Vector128.Create(sbyte.MinValue)).Store(strip + (16 * g));
                break;
            case ActivationForm.Widened:
                var (low, high) = Vector128.Widen(group);
                low.Store((short*)strip + (16 * g));
                high.Store((short*)strip + (16 * g) + 8);
                break;
            default:
                group.Store(strip + (16 * g));
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> ZipLow<T>(Vector128<T> a, Vector128<T> b)
        where T : unmanaged =>
        typeof(T) == typeof(int) ? (Sse2.IsSupported ? Sse2.UnpackLow(a.AsInt32(), b.AsInt32()) : AdvSimd.Arm64.ZipLow(a.AsInt32(), b.AsInt32())).As<int, T>()
        : (Sse2.IsSupported ? Sse2.UnpackLow(a.AsInt64(), b.AsInt64()) : AdvSimd.Arm64.ZipLow(a.AsInt64(), b.AsInt64())).As<long, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> ZipHigh<T>(Vector128<T> a, Vector128<T> b)
        where T : unmanaged =>
        typeof(T) == typeof(int) ? (Sse2.IsSupported ? Sse2.UnpackHigh(a.AsInt32(), b.AsInt32()) : AdvSimd.Arm64.ZipHigh(a.AsInt32(), b.AsInt32())).As<int, T>()
        : (Sse2.IsSupported ? Sse2.UnpackHigh(a.AsInt64(), b.AsInt64()) : AdvSimd.Arm64.ZipHigh(a.AsInt64(), b.AsInt64())).As<long, T>();

    /// <summary>
    /// The int8 GEMM as plain loops over PyTorch's [N × K] layout: each row of <paramref name="a"/> quantized by
    /// <see cref="QuantizeRow"/>, the int32 sum of (q − zero point) · w, then sum · (row scale · column scale) + bias.
    /// </summary>
    public static void ReferenceInt8(ReadOnlySpan<float> a, int m, int k, ReadOnlySpan<sbyte> weight, ReadOnlySpan<float> scales, int n, ReadOnlySpan<float> bias, Span<float> c)
    {
        var row = new sbyte[k];
        for (var r = 0; r < m; r++)
        {
            var rowScale = ReferenceQuantizeRow(a.Slice(r * k, k), row, out var zero);
            for (var o = 0; o < n; o++)
            {
                var sum = 0;
                for (var i = 0; i < k; i++)
                {
                    sum += (row[i] - zero) * weight[(o * k) + i];
                }

                var scale = rowScale * scales[o];
                c[(r * n) + o] = ((float)sum * scale) + bias[o];
            }
        }
    }
}
