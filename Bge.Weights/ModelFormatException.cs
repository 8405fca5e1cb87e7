namespace Bge.Weights;

/// <summary>
/// Thrown when a model file (safetensors, PyTorch checkpoint, config.json, ONNX, vocabulary, model directory) is malformed,
/// inconsistent or unsupported. The message names the file and, where it applies, the tensor and byte offset.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file that is wrong, if known.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="tensorName">The tensor concerned, if any.</param>
    /// <param name="offset">The byte offset concerned, if any.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ModelFormatException(string? filePath, string message, string? tensorName = null, long? offset = null, Exception? innerException = null)
        : base(Compose(filePath, message, tensorName, offset), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Offset = offset;
    }

    /// <summary>The file that is wrong, if known.</summary>
    public string? FilePath { get; }

    /// <summary>The tensor concerned, if any.</summary>
    public string? TensorName { get; }

    /// <summary>The byte offset concerned, if any.</summary>
    public long? Offset { get; }

    private static string Compose(string? filePath, string message, string? tensorName, long? offset)
    {
        var where = filePath is null ? "" : $"{filePath}: ";
        var tensor = tensorName is null ? "" : $"tensor '{tensorName}': ";
        var at = offset is null ? "" : $" (at byte offset {offset})";
        return where + tensor + message + at;
    }
}
