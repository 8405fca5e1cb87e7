using Bge.Tokenizer.Models;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.PreTokenizers;
using Bge.Tokenizer.Processors;
using Bge.Tokenizer.SentencePiece;

namespace Bge.Tokenizer;

public sealed partial class Tokenizer
{
    /// <summary>The default maximum length when neither the caller nor tokenizer_config.json gives one.</summary>
    public const int DefaultMaxLength = 512;

    /// <summary>
    /// The tokenizer of a model directory. The directory decides the family: tokenizer.json if present (its
    /// <c>model.type</c>: WordPiece or Unigram), else sentencepiece.bpe.model (XLM-R's layout), else vocab.txt (BERT).
    /// tokenizer_config.json is read here, once: <c>model_max_length</c> (transformers' "no limit" sentinels
    /// ignored), <c>do_lower_case</c>, <c>pad_token</c> and its added tokens.
    /// </summary>
    /// <param name="directory">The model directory (tokenizer files only is enough).</param>
    /// <param name="maxLength">Default maximum length; when null, <c>model_max_length</c>, else <see cref="DefaultMaxLength"/>.</param>
    /// <exception cref="TokenizerFormatException">No tokenizer file, or a malformed or unsupported one.</exception>
    public static Tokenizer FromDirectory(string directory, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var config = TokenizerConfig.Read(directory);
        var max = maxLength ?? config.ModelMaxLength ?? DefaultMaxLength;
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson))
        {
            return TokenizerJson.Load(tokenizerJson, max, config.PadToken);
        }

        var sentencePiece = Path.Combine(directory, "sentencepiece.bpe.model");
        if (File.Exists(sentencePiece))
        {
            return XlmRobertaLayout.Build(ModelProto.Parse(File.ReadAllBytes(sentencePiece), sentencePiece), sentencePiece, config, max);
        }

        var vocab = Path.Combine(directory, "vocab.txt");
        if (File.Exists(vocab))
        {
            return FromWordPieceVocab(vocab, config.DoLowerCase ?? true, max);
        }

        throw new TokenizerFormatException(directory, "no tokenizer.json, sentencepiece.bpe.model or vocab.txt in the model directory");
    }

    /// <summary>A tokenizer from a Hugging Face tokenizer.json (WordPiece or Unigram model).</summary>
    /// <param name="path">The tokenizer.json.</param>
    /// <param name="maxLength">Default maximum length (<see cref="DefaultMaxLength"/> when null).</param>
    /// <exception cref="TokenizerFormatException">The file is malformed or names a component this library does not implement.</exception>
    public static Tokenizer FromTokenizerJson(string path, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TokenizerJson.Load(path, maxLength ?? DefaultMaxLength, null);
    }

    /// <summary>
    /// A tokenizer from a sentencepiece Unigram model alone, with XLM-RoBERTa's ids and template (what transformers'
    /// XLMRobertaConverter builds from it): the same ids as that model's tokenizer.json.
    /// </summary>
    /// <param name="path">The .model file (sentencepiece.bpe.model).</param>
    /// <param name="maxLength">Default maximum length (<see cref="DefaultMaxLength"/> when null).</param>
    /// <exception cref="TokenizerFormatException">The file is not a sentencepiece Unigram model (the message gives the byte offset where parsing failed).</exception>
    public static Tokenizer FromSentencePieceModel(string path, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return XlmRobertaLayout.Build(ModelProto.Parse(File.ReadAllBytes(path), path), path, TokenizerConfig.Empty, maxLength ?? DefaultMaxLength);
    }

    /// <summary>A BERT tokenizer from a vocab.txt: BertNormalizer, BertPreTokenizer, WordPiece (<c>##</c>), <c>[CLS] a [SEP]</c>.</summary>
    /// <param name="path">The vocab.txt.</param>
    /// <param name="lowercase">Lowercase and strip accents (uncased models) or not (cased models).</param>
    /// <param name="maxLength">Default maximum length (<see cref="DefaultMaxLength"/> when null).</param>
    /// <exception cref="TokenizerFormatException">The file is not UTF-8 or lacks [PAD], [UNK], [CLS] or [SEP].</exception>
    public static Tokenizer FromWordPieceVocab(string path, bool lowercase = true, int? maxLength = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return WordPieceTokenizer(WordPieceVocabulary.Parse(File.ReadAllBytes(path), path), lowercase, maxLength ?? DefaultMaxLength, path);
    }

    /// <summary>The four components of a BERT tokenizer over a WordPiece vocabulary.</summary>
    internal static Tokenizer WordPieceTokenizer(WordPieceVocabulary vocabulary, bool lowercase, int maxLength, string source)
    {
        int Special(string name) => vocabulary.TryGetId(name, out var id) ? id : throw new TokenizerFormatException(source, $"the vocabulary has no {name} token");
        var pad = Special("[PAD]");
        var unk = Special("[UNK]");
        var cls = Special("[CLS]");
        var sep = Special("[SEP]");
        var added = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
            .Where(t => vocabulary.TryGetId(t, out _))
            .Select(t => new AddedToken(t, vocabulary.TryGetId(t, out var id) ? id : -1));
        return new Tokenizer(
            new AddedTokens(added),
            new BertNormalizer(StripAccents: lowercase, Lowercase: lowercase),
            BertPreTokenizer.Instance,
            new WordPiece(vocabulary, unk),
            TemplateProcessor.Bert(cls, sep),
            maxLength,
            pad);
    }
}
