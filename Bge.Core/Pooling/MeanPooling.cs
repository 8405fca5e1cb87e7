using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Bge.Core.Model;
using Bge.Weights;

namespace Bge.Core.Pooling;

/// <summary>
/// Mean pooling: the average of the real tokens' hidden states ([CLS] and [SEP] included, padding never, since
/// a packed sequence holds only its real tokens), as sentence-transformers' masked mean.
/// </summary>
public sealed class MeanPooling : IPooling
{
    /// <summary>The one instance.</summary>
    public static readonly MeanPooling Instance = new();

    /// <inheritdoc />
    public PoolingMode Mode => PoolingMode.Mean;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pool(HiddenStates states, int sequence, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(states);
        var h = states.Hidden;
        var rows = states.Sequence(sequence);
        var length = states.LengthOf(sequence);
        var sum = output[..h];
        rows[..h].CopyTo(sum);
        for (var t = 1; t < length; t++)
        {
            TensorPrimitives.Add(sum, rows.Slice(t * h, h), sum);
        }

        TensorPrimitives.Divide(sum, length, sum);
    }
}
