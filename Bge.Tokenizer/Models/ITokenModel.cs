using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Models;

/// <summary>Turns one word into token ids (WordPiece, Unigram). Immutable and thread-safe.</summary>
internal interface ITokenModel
{
    /// <summary>Number of ids the model has.</summary>
    int Count { get; }

    /// <summary>The unknown token's id, or -1.</summary>
    int UnknownId { get; }

    /// <summary>The most UTF-16 units of a word the model needs stored (longer words are only counted).</summary>
    int WordCapacity { get; }

    /// <summary>Appends the tokens of <paramref name="word"/>, each with the input range it covers.</summary>
    void Tokenize(WordBuffer word, TokenList into);

    /// <summary>The text of an id, or null outside the model.</summary>
    string? IdToToken(int id);

    /// <summary>The id of a token's text.</summary>
    bool TryGetId(ReadOnlySpan<char> token, out int id);

    /// <summary>Joins decoded pieces back into text (the model's usual decoder).</summary>
    string Decode(IEnumerable<string> pieces);
}
