using System.Collections.Concurrent;
using Bge.Core;
using Bge.Core.Compression;

namespace Bge.Server;

/// <summary>
/// The int8/uint8 ranges of the server's calibration embeddings (<see cref="ServerOptions.Calibration"/>), one set
/// per output width. A request's own embeddings cannot calibrate it: one text gives every dimension a single-point
/// range. A narrower <c>output_dimension</c> takes its ranges from the calibration embeddings cut and re-normalized as
/// the answer's vectors are, so that its codes are those of calibrating with embeddings made at that width.
/// </summary>
internal sealed class CalibrationRanges
{
    private readonly EmbeddingMatrix _embeddings;
    private readonly ConcurrentDictionary<int, QuantizationRanges> _byWidth = new();

    /// <summary>Checks the embeddings against the model and takes their full-width ranges.</summary>
    /// <exception cref="InvalidOperationException">The embeddings are of another width than the model's, or hold a value that is not finite.</exception>
    public CalibrationRanges(EmbeddingMatrix embeddings, Embedder embedder)
    {
        if (embeddings.Columns != embedder.Dimension)
        {
            throw new InvalidOperationException($"the calibration embeddings (--calibration) have {embeddings.Columns} dimensions; {embedder.Name} gives {embedder.Dimension}: make them with this model at its full width (bge embed without --dimensions)");
        }

        try
        {
            _byWidth[embeddings.Columns] = QuantizationRanges.From(embeddings);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"the calibration embeddings (--calibration) are no calibration: {e.Message}", e);
        }

        _embeddings = embeddings;
    }

    /// <summary>The ranges for answers of <paramref name="width"/> dimensions (1 to the model's width), computed on first use.</summary>
    public QuantizationRanges For(int width) => _byWidth.GetOrAdd(width, w => QuantizationRanges.From(Matryoshka.Truncate(_embeddings, w)));
}
