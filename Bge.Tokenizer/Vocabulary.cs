using System.Text;

namespace Bge.Tokenizer;

/// <summary>
/// A WordPiece vocabulary: token ↔ id, with the continuation pieces (<c>##ing</c>) also reachable by their bare
/// text, and the ids of the special tokens BERT needs.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>The prefix that marks a piece continuing a word.</summary>
    public const string ContinuationPrefix = "##";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _words;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations;

    /// <summary>Builds a vocabulary from tokens in id order.</summary>
    /// <param name="tokens">Token text by id.</param>
    /// <param name="source">Where the tokens came from, for messages.</param>
    /// <exception cref="VocabularyException">A special token ([PAD], [UNK], [CLS], [SEP]) is missing.</exception>
    public Vocabulary(IReadOnlyList<string> tokens, string source = "vocabulary")
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens = [.. tokens];
        var words = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        var continuations = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < _tokens.Length; id++)
        {
            var token = _tokens[id];
            // A duplicated line keeps its last id, as Hugging Face's loader does (later entries overwrite).
            words[token] = id;
            if (token.StartsWith(ContinuationPrefix, StringComparison.Ordinal) && token.Length > ContinuationPrefix.Length)
            {
                continuations[token[ContinuationPrefix.Length..]] = id;
            }

            MaxTokenLength = Math.Max(MaxTokenLength, token.Length);
        }

        _words = words.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuations = continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        int Special(string name) => words.TryGetValue(name, out var id) ? id : throw new VocabularyException(source, $"the vocabulary has no {name} token");
        PadId = Special("[PAD]");
        UnkId = Special("[UNK]");
        ClsId = Special("[CLS]");
        SepId = Special("[SEP]");
        MaskId = words.GetValueOrDefault("[MASK]", -1);
    }

    /// <summary>Number of tokens.</summary>
    public int Count => _tokens.Length;

    /// <summary>Length in UTF-16 units of the longest token.</summary>
    public int MaxTokenLength { get; }

    /// <summary>Id of [PAD].</summary>
    public int PadId { get; }

    /// <summary>Id of [UNK].</summary>
    public int UnkId { get; }

    /// <summary>Id of [CLS].</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP].</summary>
    public int SepId { get; }

    /// <summary>Id of [MASK], or -1 if the vocabulary has none.</summary>
    public int MaskId { get; }

    /// <summary>The text of token <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside the vocabulary.</exception>
    public string this[int id] => (uint)id < (uint)_tokens.Length ? _tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"vocabulary has {_tokens.Length} tokens");

    /// <summary>Looks up a whole token (a word start, or a literal <c>##piece</c>).</summary>
    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _words.TryGetValue(token, out id);

    /// <summary>Looks up a word continuation by its text without the <c>##</c> prefix.</summary>
    public bool TryGetContinuationId(ReadOnlySpan<char> piece, out int id) => _continuations.TryGetValue(piece, out id);

    /// <summary>Reads a vocab.txt: one token per line, LF or CRLF, with or without a UTF-8 BOM.</summary>
    /// <exception cref="VocabularyException">The file is not UTF-8 or lacks a special token.</exception>
    public static Vocabulary Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses vocab.txt bytes (see <see cref="Load"/>).</summary>
    /// <exception cref="VocabularyException">The bytes are not UTF-8 or lack a special token.</exception>
    public static Vocabulary Parse(ReadOnlySpan<byte> bytes, string source)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new VocabularyException(source, "not valid UTF-8", e);
        }

        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        var lines = text.Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        // Lines are right-trimmed, as Hugging Face's conversion of vocab.txt to tokenizer.json does.
        return new Vocabulary(lines.Take(count).Select(l => l.TrimEnd()).ToArray(), source);
    }
}
