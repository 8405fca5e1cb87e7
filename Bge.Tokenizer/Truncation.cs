namespace Bge.Tokenizer;

/// <summary>Which tokens of a pair are cut to fit the maximum length (Hugging Face's truncation strategies).</summary>
public enum TruncationStrategy
{
    /// <summary>Cut the longer text first, token by token, until the pair fits (transformers' <c>truncation=True</c>).</summary>
    LongestFirst,

    /// <summary>Cut only the second text; an error when the first alone leaves it no room.</summary>
    OnlySecond,
}

/// <summary>Which end of a text truncation keeps.</summary>
public enum TruncationSide
{
    /// <summary>Keep the first tokens (cut the end).</summary>
    Right,

    /// <summary>Keep the last tokens (cut the start).</summary>
    Left,
}

/// <summary>
/// Thrown when a pair cannot be truncated as asked: with <see cref="TruncationStrategy.OnlySecond"/>, the first text
/// alone leaves the second no room (Hugging Face fails there too).
/// </summary>
/// <param name="message">What does not fit.</param>
public sealed class TruncationException(string message) : ArgumentException(message);
