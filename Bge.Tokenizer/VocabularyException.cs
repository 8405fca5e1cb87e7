namespace Bge.Tokenizer;

/// <summary>Thrown when a vocabulary or tokenizer file is malformed or lacks a required special token.</summary>
/// <param name="source">The file (or other source) concerned.</param>
/// <param name="message">What is wrong.</param>
/// <param name="innerException">The underlying error, if any.</param>
public sealed class VocabularyException(string source, string message, Exception? innerException = null)
    : Exception($"{source}: {message}", innerException)
{
    /// <summary>The file (or other source) concerned.</summary>
    public string FilePath { get; } = source;
}
