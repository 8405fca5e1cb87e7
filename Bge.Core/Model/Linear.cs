using Bge.Core.Kernels;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Core.Model;

/// <summary>PyTorch's nn.Linear, <c>y = x·Wᵀ + b</c>, its weight packed once for the GEMM kernel.</summary>
internal sealed class Linear
{
    private Linear(PackedWeight weight)
    {
        Weight = weight;
    }

    /// <summary>Loads <c>{name}.weight</c> and <c>{name}.bias</c>.</summary>
    public static Linear Load(Checkpoint weights, string name, int outFeatures, int inFeatures, SimdWidth simd, Precision precision) =>
        Stack(weights, [name], outFeatures, inFeatures, simd, precision);

    /// <summary>Loads several Linear layers of the same input as one, their outputs side by side (Q, K and V).</summary>
    public static Linear Stack(Checkpoint weights, IReadOnlyList<string> names, int outFeaturesEach, int inFeatures, SimdWidth simd, Precision precision)
    {
        var packed = new PackedWeight(names.Count * outFeaturesEach, inFeatures, simd, precision);
        var stored = precision == Precision.Int8 && weights.Quantization == QuantizedWeights.Int8;
        var values = stored ? new sbyte[outFeaturesEach * inFeatures] : [];
        var scales = stored ? new float[outFeaturesEach] : [];

        // One reused buffer, read straight from the file: loading holds no second copy of the model.
        var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(outFeaturesEach * (inFeatures + 1));
        try
        {
            var weight = buffer.AsSpan(0, outFeaturesEach * inFeatures);
            var bias = buffer.AsSpan(weight.Length, outFeaturesEach);
            for (var part = 0; part < names.Count; part++)
            {
                weights.CopyTo(names[part] + ".bias", bias);
                if (stored && weights.TryCopyInt8(names[part] + ".weight", values, scales))
                {
                    // Stored int8: packed as it is, never through floats.
                    packed.PackInt8(part * outFeaturesEach, values, scales, bias);
                }
                else
                {
                    weights.CopyTo(names[part] + ".weight", weight);
                    packed.Pack(part * outFeaturesEach, weight, bias);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }

        return new Linear(packed);
    }

    /// <summary>
    /// Loads an nn.Linear saved alone (<c>weight</c> [out × in], <c>bias</c> [out]) from a tensor file, as bge-m3 ships
    /// its heads (<c>torch.save(linear.state_dict())</c>); held at fp32.
    /// </summary>
    /// <exception cref="ModelFormatException">The file is malformed, or a tensor is missing, not floating point or of another shape.</exception>
    public static Linear FromFile(string path, int outFeatures, int inFeatures, SimdWidth simd)
    {
        using var file = TensorFiles.Open(path);
        float[] Read(string name, long[] shape)
        {
            if (!file.Tensors.TryGetValue(name, out var info))
            {
                throw new ModelFormatException(path, $"is missing; the head is a Linear({inFeatures}, {outFeatures}) saved with its weight and bias (it holds {string.Join(", ", file.Tensors.Keys)})", name);
            }

            if (!info.DType.IsFloatingPoint() || !info.Shape.SequenceEqual(shape))
            {
                throw new ModelFormatException(path, $"is {info.DType} {info.ShapeText}; a Linear({inFeatures}, {outFeatures}) head needs floating point [{string.Join(", ", shape)}]", name);
            }

            return file.ReadFloat32(name);
        }

        return new Linear(new PackedWeight(Read("weight", [outFeatures, inFeatures]), Read("bias", [outFeatures]), outFeatures, inFeatures, simd));
    }

    public PackedWeight Weight { get; }

    public int Out => Weight.Out;

    // (T, in) -> (T, out), with the activation applied tile by tile when one is given
    public void Forward(ReadOnlySpan<float> x, int tokens, Span<float> y, int parallelism, Gemm.Epilogue epilogue = Gemm.Epilogue.None) =>
        Gemm.Linear(x, tokens, Weight, y, parallelism, epilogue);
}

/// <summary>nn.LayerNorm over the hidden dimension.</summary>
internal sealed class LayerNormalization(float[] weight, float[] bias, float eps, SimdWidth simd)
{
    public static LayerNormalization Load(Checkpoint weights, string name, SimdWidth simd) =>
        new(weights.Read(name + ".weight"), weights.Read(name + ".bias"), (float)weights.Config.LayerNormEps, simd);

    private const int RowsPerTask = 64;

    // (T, H) -> (T, H), in place
    public void Forward(Span<float> x, int tokens) => Forward(x, default, tokens, 1);

    // (T, H) x, (T, H) residual (or none) -> (T, H) LayerNorm(x + residual) in x, rows split over the threads
    public unsafe void Forward(Span<float> x, ReadOnlySpan<float> residual, int tokens, int parallelism)
    {
        var width = weight.Length;
        fixed (float* px = x, pr = residual, pw = weight, pb = bias)
        {
            var (xp, rp, wp, bp) = ((nint)px, (nint)pr, (nint)pw, (nint)pb);
            WorkerTeam.For((tokens + RowsPerTask - 1) / RowsPerTask, parallelism, task =>
            {
                for (var row = task * RowsPerTask; row < Math.Min(tokens, (task + 1) * RowsPerTask); row++)
                {
                    var offset = (long)row * width;
                    LayerNorm.Row((float*)xp + offset, rp == 0 ? null : (float*)rp + offset, (float*)wp, (float*)bp, width, eps, simd);
                }
            });
        }
    }
}
