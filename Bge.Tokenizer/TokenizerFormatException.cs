namespace Bge.Tokenizer;

/// <summary>Thrown when a tokenizer file (vocab.txt, tokenizer.json, sentencepiece .model, tokenizer_config.json) is malformed or uses a component this library does not implement.</summary>
/// <param name="source">The file (or other source) concerned.</param>
/// <param name="message">What is wrong.</param>
/// <param name="offset">The byte offset concerned, for binary files.</param>
/// <param name="innerException">The underlying error, if any.</param>
public sealed class TokenizerFormatException(string source, string message, long? offset = null, Exception? innerException = null)
    : Exception(offset is { } at ? $"{source}: {message} (at byte {at})" : $"{source}: {message}", innerException)
{
    /// <summary>The file (or other source) concerned.</summary>
    public string FilePath { get; } = source;

    /// <summary>The byte offset concerned, or null.</summary>
    public long? Offset { get; } = offset;
}
