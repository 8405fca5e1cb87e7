using System.Runtime.CompilerServices;
using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Weights;

namespace Bge.Core.Pooling;

/// <summary>
/// Mean pooling: the average of the real tokens' hidden states ([CLS] and [SEP] included, padding never, since
/// a packed sequence holds only its real tokens), as sentence-transformers' masked mean. Each feature is summed
/// token by token in order, so the result is the same at every width.
/// </summary>
/// <param name="simd">The width its sums run at.</param>
public sealed class MeanPooling(SimdWidth simd) : IPooling
{
    /// <summary>The instance at the widest width this CPU accelerates.</summary>
    public static readonly MeanPooling Instance = new(Simd.Hardware);

    /// <inheritdoc />
    public PoolingMode Mode => PoolingMode.Mean;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Pool(HiddenStates states, int sequence, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(states);
        var h = states.Hidden;
        var rows = states.Sequence(sequence);
        var length = states.LengthOf(sequence);
        var sum = output[..h];
        rows[..h].CopyTo(sum);
        fixed (float* s = sum, r = rows)
        {
            for (var t = 1; t < length; t++)
            {
                RowMath.Add(s, r + (t * h), s, h, simd);
            }

            RowMath.Divide(s, length, h, simd);
        }
    }
}
