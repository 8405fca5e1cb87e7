using Bge.Core.Model;
using Bge.Weights;

namespace Bge.Core.Pooling;

/// <summary>CLS pooling: the hidden state of the first token, as BGE models are trained.</summary>
public sealed class ClsPooling : IPooling
{
    /// <summary>The one instance.</summary>
    public static readonly ClsPooling Instance = new();

    /// <inheritdoc />
    public PoolingMode Mode => PoolingMode.Cls;

    /// <inheritdoc />
    public void Pool(HiddenStates states, int sequence, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(states);
        states.Sequence(sequence)[..states.Hidden].CopyTo(output);
    }
}
