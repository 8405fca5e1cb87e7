using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Model;

/// <summary>One encoder layer (<c>encoder.layer.{i}</c>): attention, then the feed-forward block.</summary>
internal sealed class EncoderLayer(SelfAttention attention, AttentionOutput attentionOutput, Intermediate intermediate, FeedForwardOutput output)
{
    public static EncoderLayer Load(Checkpoint weights, int index, SimdWidth simd, Precision precision)
    {
        var p = EncoderTensorNames.Layer(index);
        return new(
            SelfAttention.Load(weights, p + "attention.self.", simd, precision),
            AttentionOutput.Load(weights, p + "attention.output.", simd, precision),
            Intermediate.Load(weights, p + "intermediate.", simd, precision),
            FeedForwardOutput.Load(weights, p + "output.", simd, precision));
    }

    public int ScratchWidth => Math.Max(attention.ScratchWidth, intermediate.Width);

    // (T, H) -> (T, H) in place; scratch is (T, max(3H, I)), context and attended are (T, H)
    public void Forward(Span<float> hidden, int[] sequenceStarts, Workspace work, int parallelism)
    {
        var tokens = sequenceStarts[^1];
        attention.Forward(hidden, sequenceStarts, work.Scratch, work.Context, parallelism);
        attentionOutput.Forward(work.Context, hidden, work.Attended, tokens, parallelism);
        intermediate.Forward(work.Attended, work.Scratch, tokens, parallelism);
        output.Forward(work.Scratch, work.Attended, hidden, tokens, parallelism);
    }
}

/// <summary>
/// The activations one forward pass needs besides the hidden states. Reused across calls (see
/// <see cref="WorkspacePool"/>), so a steady stream of encodes allocates nothing here.
/// </summary>
internal sealed class Workspace(int tokens, int hidden, int scratchWidth)
{
    private readonly float[] _scratch = new float[tokens * scratchWidth];
    private readonly float[] _context = new float[tokens * hidden];
    private readonly float[] _attended = new float[tokens * hidden];

    /// <summary>Tokens it has room for.</summary>
    public int Capacity { get; } = tokens;

    public Span<float> Scratch => _scratch;

    public Span<float> Context => _context;

    public Span<float> Attended => _attended;
}

/// <summary>Workspaces for concurrent forward passes: one per call in flight, kept for the next call.</summary>
internal sealed class WorkspacePool(int hidden, int scratchWidth)
{
    private readonly System.Collections.Concurrent.ConcurrentBag<Workspace> _free = [];

    public Workspace Rent(int tokens)
    {
        if (_free.TryTake(out var workspace) && workspace.Capacity >= tokens)
        {
            return workspace;
        }

        // Grow in steps so a slowly rising batch size does not reallocate every call.
        return new Workspace(Math.Max(tokens, (workspace?.Capacity ?? 0) * 2), hidden, scratchWidth);
    }

    public void Return(Workspace workspace) => _free.Add(workspace);
}
