using System.Text;

namespace Bge.Tokenizer.Models;

/// <summary>
/// A WordPiece vocabulary: token ↔ id, with the continuation pieces (<c>##ing</c>) also reachable by their text
/// without the prefix.
/// </summary>
internal sealed class WordPieceVocabulary
{
    private readonly string[] _tokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _words;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations;

    /// <summary>Builds a vocabulary from tokens in id order.</summary>
    public WordPieceVocabulary(IReadOnlyList<string> tokens, string continuationPrefix = "##")
    {
        _tokens = [.. tokens];
        ContinuationPrefix = continuationPrefix;
        var words = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        var continuations = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < _tokens.Length; id++)
        {
            var token = _tokens[id];
            // A duplicated line keeps its last id, as Hugging Face's loader does (later entries overwrite).
            words[token] = id;
            if (token.StartsWith(continuationPrefix, StringComparison.Ordinal) && token.Length > continuationPrefix.Length)
            {
                continuations[token[continuationPrefix.Length..]] = id;
            }

            MaxTokenLength = Math.Max(MaxTokenLength, token.Length);
        }

        _words = words.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuations = continuations.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public string ContinuationPrefix { get; }

    public int Count => _tokens.Length;

    /// <summary>Length in UTF-16 units of the longest token.</summary>
    public int MaxTokenLength { get; }

    public string? this[int id] => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>Looks up a whole token (a word start, or a literal <c>##piece</c>).</summary>
    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _words.TryGetValue(token, out id);

    /// <summary>Looks up a word continuation by its text without the prefix.</summary>
    public bool TryGetContinuationId(ReadOnlySpan<char> piece, out int id) => _continuations.TryGetValue(piece, out id);

    /// <summary>Parses vocab.txt bytes: one token per line, LF or CRLF, with or without a UTF-8 BOM.</summary>
    /// <exception cref="TokenizerFormatException">The bytes are not UTF-8.</exception>
    public static WordPieceVocabulary Parse(ReadOnlySpan<byte> bytes, string source)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new TokenizerFormatException(source, "not valid UTF-8", innerException: e);
        }

        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        // Lines are right-trimmed, as Hugging Face's conversion of vocab.txt to tokenizer.json does.
        return new WordPieceVocabulary(lines.Take(count).Select(l => l.TrimEnd()).ToArray());
    }
}
