using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Weights;

namespace Bge.Core.Pooling;

/// <summary>Turns one sequence's token vectors into one sentence vector.</summary>
public interface IPooling
{
    /// <summary>Which pooling this is.</summary>
    PoolingMode Mode { get; }

    /// <summary>Writes the pooled vector of sequence <paramref name="sequence"/> into <paramref name="output"/> (Hidden values).</summary>
    void Pool(HiddenStates states, int sequence, Span<float> output);
}

/// <summary>The pooling stages by mode.</summary>
public static class Poolings
{
    /// <summary>The stage for <paramref name="mode"/>, at the widest width this CPU accelerates.</summary>
    public static IPooling For(PoolingMode mode) => For(mode, Simd.Hardware);

    /// <summary>The stage for <paramref name="mode"/>, at <paramref name="simd"/>.</summary>
    public static IPooling For(PoolingMode mode, SimdWidth simd) => mode switch
    {
        PoolingMode.Cls => ClsPooling.Instance,
        PoolingMode.Mean => simd == Simd.Hardware ? MeanPooling.Instance : new MeanPooling(simd),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown pooling"),
    };
}
