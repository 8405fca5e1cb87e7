namespace Bge.Weights;

/// <summary>How token vectors become one sentence vector.</summary>
public enum PoolingMode
{
    /// <summary>The hidden state of the first token (<c>[CLS]</c>).</summary>
    Cls,

    /// <summary>The average of the hidden states of the real (non-padding) tokens.</summary>
    Mean,
}
