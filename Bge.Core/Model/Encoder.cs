using Bge.Core.Kernels;
using Bge.Tokenizer;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>
/// The BERT encoder: token ids in, <c>last_hidden_state</c> out. Stateless after loading, so one instance may
/// serve many threads at once.
/// </summary>
public sealed class Encoder
{
    private readonly EncoderEmbeddings _embeddings;
    private readonly EncoderLayer[] _layers;
    private readonly WorkspacePool _workspaces;

    private Encoder(EncoderConfig config, EncoderEmbeddings embeddings, EncoderLayer[] layers, SimdWidth simd, Precision precision)
    {
        Config = config;
        Simd = simd;
        Precision = precision;
        _embeddings = embeddings;
        _layers = layers;
        _workspaces = new WorkspacePool(config.HiddenSize, layers.Max(l => l.ScratchWidth));
    }

    /// <summary>The model's hyper-parameters.</summary>
    public EncoderConfig Config { get; }

    /// <summary>The vector width every kernel of its forward pass uses, fixed at load.</summary>
    public SimdWidth Simd { get; }

    /// <summary>How the Linear layers' weights are held (<see cref="Core.Precision"/>), fixed at load.</summary>
    public Precision Precision { get; }

    /// <summary>Builds the encoder from checked weights (copied and packed; the weights may be disposed afterwards).</summary>
    /// <param name="weights">The checkpoint's tensors.</param>
    /// <param name="simd">The vector width its kernels use (<see cref="Kernels.Simd.Default"/> when null); the weights are packed for it.</param>
    /// <param name="precision">How the Linear layers' weights are held; when null, as the weights are stored (a quantized model directory names its scheme), else fp32.</param>
    public static Encoder Load(Checkpoint weights, SimdWidth? simd = null, Precision? precision = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var width = simd ?? Kernels.Simd.Default;
        var held = precision ?? weights.Quantization switch
        {
            QuantizedWeights.Int8 => Precision.Int8,
            QuantizedWeights.Bf16 => Precision.Bf16,
            _ => Precision.Fp32,
        };
        var layers = Enumerable.Range(0, weights.Config.NumHiddenLayers).Select(i => EncoderLayer.Load(weights, i, width, held)).ToArray();
        return new Encoder(weights.Config, EncoderEmbeddings.Load(weights, width, held), layers, width, held);
    }

    /// <summary>Runs the encoder over a packed batch.</summary>
    /// <param name="batch">The sequences, packed end to end.</param>
    /// <param name="parallelism">Threads to use at most.</param>
    /// <returns>The last hidden state, [total tokens × hidden], packed like the batch.</returns>
    /// <exception cref="ArgumentException">An id, token type or sequence length is outside what the model takes.</exception>
    public HiddenStates Forward(TokenBatch batch, int parallelism = 1) => Forward(batch, parallelism, null);

    // One forward pass whose hidden states live in a rented buffer only while the heads read them: the states of a
    // batch are large-object-heap sized, so a long stream of calls leaves no garbage. What the heads return is kept.
    internal T Forward<T>(TokenBatch batch, int parallelism, Func<HiddenStates, T> heads)
    {
        var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, batch.TotalTokens * Config.HiddenSize));
        try
        {
            return heads(Forward(batch, parallelism, buffer));
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    // The same, into a buffer at least tokens × hidden long when given.
    private HiddenStates Forward(TokenBatch batch, int parallelism, float[]? buffer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _embeddings.Validate(batch);
        var h = Config.HiddenSize;
        var hidden = buffer ?? new float[batch.TotalTokens * h];
        var rows = hidden.AsSpan(0, batch.TotalTokens * h);
        _embeddings.Forward(batch, rows);
        var work = _workspaces.Rent(batch.TotalTokens);
        try
        {
            foreach (var layer in _layers)
            {
                layer.Forward(rows, batch.SequenceStarts, work, parallelism);
            }
        }
        finally
        {
            _workspaces.Return(work);
        }

        return new HiddenStates(hidden, h, batch.SequenceStarts);
    }
}

/// <summary>
/// Packed hidden states: row <c>SequenceStarts[b] + t</c> is token <c>t</c> of sequence <c>b</c>.
/// </summary>
/// <param name="Data">[total tokens × Hidden], row-major.</param>
/// <param name="Hidden">Width of a row.</param>
/// <param name="SequenceStarts">Start row of each sequence, plus the total at the end.</param>
public sealed record HiddenStates(float[] Data, int Hidden, int[] SequenceStarts)
{
    /// <summary>Number of sequences.</summary>
    public int Count => SequenceStarts.Length - 1;

    /// <summary>Tokens of sequence <paramref name="index"/>.</summary>
    public int LengthOf(int index) => SequenceStarts[index + 1] - SequenceStarts[index];

    /// <summary>The rows of sequence <paramref name="index"/>, [length × Hidden].</summary>
    public ReadOnlySpan<float> Sequence(int index) =>
        Data.AsSpan(SequenceStarts[index] * Hidden, LengthOf(index) * Hidden);

    /// <summary>The states as Hugging Face's padded <c>last_hidden_state</c>, [Count × longest × Hidden], zeros on padding.</summary>
    public float[] ToPadded(out int sequenceLength)
    {
        sequenceLength = Enumerable.Range(0, Count).Select(LengthOf).DefaultIfEmpty(0).Max();
        var padded = new float[Count * sequenceLength * Hidden];
        for (var b = 0; b < Count; b++)
        {
            Sequence(b).CopyTo(padded.AsSpan(b * sequenceLength * Hidden));
        }

        return padded;
    }
}
