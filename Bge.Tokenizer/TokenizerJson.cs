using System.Text.Json;
using Bge.Tokenizer.Models;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.PreTokenizers;
using Bge.Tokenizer.Processors;

namespace Bge.Tokenizer;

/// <summary>
/// Reads a Hugging Face tokenizer.json into the pipeline's components, by the names the file gives them. A component
/// type this library does not implement is refused by name rather than skipped, so a file is never silently misread.
/// </summary>
internal sealed class TokenizerJson(string path)
{
    /// <summary>Reads the file into a tokenizer.</summary>
    /// <exception cref="TokenizerFormatException">The file is missing, malformed or uses a component not implemented here.</exception>
    public static Tokenizer Load(string path, int maxLength, string? padToken)
    {
        var root = JsonFiles.ReadOptional(path) ?? throw new TokenizerFormatException(path, "not found");
        try
        {
            return new TokenizerJson(path).Build(root, maxLength, padToken);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException or IndexOutOfRangeException)
        {
            throw new TokenizerFormatException(path, "not a tokenizer.json this library reads: " + e.Message, innerException: e);
        }
    }

    private Tokenizer Build(JsonElement root, int maxLength, string? padToken)
    {
        var added = new AddedTokens(Array(root, "added_tokens").Select(t => TokenizerConfig.ReadAddedToken(t, t.GetProperty("id").GetInt32())).ToList());
        var model = Model(root.GetProperty("model"));
        int Id(string token) => added.TryGetId(token, out var id) || model.TryGetId(token, out id) ? id
            : throw new TokenizerFormatException(path, $"post_processor names the token '{token}', which is neither an added token nor in the vocabulary");
        var normalizer = Normalizer(Object(root, "normalizer"));
        var preTokenizer = PreTokenizer(Object(root, "pre_tokenizer"));
        var template = PostProcessor(Object(root, "post_processor"), Id);
        int? pad = padToken is not null && (added.TryGetId(padToken, out var p) || model.TryGetId(padToken, out p)) ? p : null;
        return new Tokenizer(added, normalizer, preTokenizer, model, template, maxLength, pad);
    }

    private ITokenModel Model(JsonElement model)
    {
        var type = TypeOf(model, "model");
        switch (type)
        {
            case "WordPiece":
            {
                var vocab = model.GetProperty("vocab");
                var tokens = new string[vocab.EnumerateObject().Count()];
                foreach (var entry in vocab.EnumerateObject())
                {
                    var id = entry.Value.GetInt32();
                    if ((uint)id >= (uint)tokens.Length || tokens[id] is not null)
                    {
                        throw new TokenizerFormatException(path, $"token '{entry.Name}' has id {id}, outside 0..{tokens.Length - 1} or taken twice");
                    }

                    tokens[id] = entry.Name;
                }

                var prefix = String(model, "continuing_subword_prefix") ?? "##";
                var vocabulary = new WordPieceVocabulary(tokens, prefix);
                var unk = String(model, "unk_token") ?? "[UNK]";
                var unkId = vocabulary.TryGetId(unk, out var u) ? u : throw new TokenizerFormatException(path, $"the WordPiece vocabulary has no unknown token '{unk}'");
                var maxChars = model.TryGetProperty("max_input_chars_per_word", out var mc) ? mc.GetInt32() : 100;
                return new WordPiece(vocabulary, unkId, maxChars);
            }

            case "Unigram":
            {
                if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
                {
                    throw new TokenizerFormatException(path, "model Unigram with byte_fallback true is not supported");
                }

                var pieces = new List<string>();
                var scores = new List<double>();
                foreach (var entry in model.GetProperty("vocab").EnumerateArray())
                {
                    pieces.Add(entry[0].GetString() ?? "");
                    scores.Add(entry[1].GetDouble());
                }

                var unkId = model.TryGetProperty("unk_id", out var unk) && unk.ValueKind == JsonValueKind.Number ? unk.GetInt32()
                    : throw new TokenizerFormatException(path, "model Unigram without unk_id is not supported");
                if ((uint)unkId >= (uint)pieces.Count)
                {
                    throw new TokenizerFormatException(path, $"Unigram unk_id {unkId} is outside its {pieces.Count} pieces");
                }

                return new Unigram(pieces, scores, unkId);
            }

            default:
                throw Unsupported("model", type);
        }
    }

    private INormalizer Normalizer(JsonElement? normalizer)
    {
        if (normalizer is not { } n)
        {
            return IdentityNormalizer.Instance;
        }

        var parts = TypeOf(n, "normalizer") == "Sequence" ? Array(n, "normalizers").ToList() : [n];
        INormalizer? head = null;
        var stages = new List<IStreamNormalizer>();
        foreach (var part in parts)
        {
            var type = TypeOf(part, "normalizer");
            if (type is "BertNormalizer" or "Precompiled")
            {
                if (head is not null || stages.Count > 0)
                {
                    throw new TokenizerFormatException(path, $"normalizer {type} is supported only first in a Sequence");
                }

                head = type == "BertNormalizer" ? Bert(part) : Precompiled(part);
                continue;
            }

            stages.Add(type switch
            {
                "Replace" => Replace(part),
                "Strip" => new StripNormalizer(Bool(part, "strip_left", true), Bool(part, "strip_right", true)),
                _ => throw Unsupported("normalizer", type),
            });
        }

        return stages.Count == 0 && head is not null ? head : new NormalizerSequence(head ?? IdentityNormalizer.Instance, stages);
    }

    private static BertNormalizer Bert(JsonElement n)
    {
        var lowercase = Bool(n, "lowercase", true);
        return new BertNormalizer(Bool(n, "clean_text", true), Bool(n, "handle_chinese_chars", true), Bool(n, "strip_accents", lowercase), lowercase);
    }

    private static INormalizer Precompiled(JsonElement n)
    {
        var charsmap = String(n, "precompiled_charsmap");
        return string.IsNullOrEmpty(charsmap) ? IdentityNormalizer.Instance : new PrecompiledNormalizer(PrecompiledCharsMap.Parse(Convert.FromBase64String(charsmap)));
    }

    private ReplaceNormalizer Replace(JsonElement n)
    {
        var pattern = n.GetProperty("pattern");
        var content = (String(n, "content") ?? "").EnumerateRunes().Select(r => r.Value).ToArray();
        if (String(pattern, "String") is { } literal)
        {
            return literal.EnumerateRunes().ToArray() is [var single] ? new ReplaceNormalizer(single.Value, 0, content)
                : throw new TokenizerFormatException(path, $"normalizer Replace with the string pattern '{literal}' is not supported (one character is)");
        }

        var regex = String(pattern, "Regex") ?? throw new TokenizerFormatException(path, "normalizer Replace without a String or Regex pattern");
        var runes = regex.EnumerateRunes().ToArray();
        if (runes.Length >= 2 && !IsRegexSyntax(runes[0].Value))
        {
            var rest = regex[runes[0].Utf16SequenceLength..];
            var minimum = rest switch { "+" or "{1,}" => 1, "{2,}" => 2, _ => 0 };
            if (minimum > 0)
            {
                return new ReplaceNormalizer(runes[0].Value, minimum, content);
            }
        }

        throw new TokenizerFormatException(path, $"normalizer Replace with the regex '{regex}' is not supported (a run of one character, 'c+' or 'c{{2,}}', is)");
    }

    private static bool IsRegexSyntax(int c) => c is '\\' or '.' or '[' or ']' or '(' or ')' or '{' or '}' or '*' or '+' or '?' or '|' or '^' or '$';

    private IPreTokenizer PreTokenizer(JsonElement? preTokenizer)
    {
        if (preTokenizer is not { } p)
        {
            return WholeSegment.Instance;
        }

        var type = TypeOf(p, "pre_tokenizer");
        if (type == "Sequence" && Array(p, "pretokenizers").ToList() is [var only])
        {
            return PreTokenizer(only);
        }

        return type switch
        {
            "BertPreTokenizer" => BertPreTokenizer.Instance,
            "Metaspace" => Metaspace(p),
            _ => throw Unsupported("pre_tokenizer", type),
        };
    }

    private Metaspace Metaspace(JsonElement p)
    {
        var replacement = String(p, "replacement") is { } r && r.EnumerateRunes().ToArray() is [var single] ? single.Value : PreTokenizers.Metaspace.DefaultReplacement;
        // The older generation of the field: add_prefix_space (true: always); the newer: prepend_scheme.
        var scheme = String(p, "prepend_scheme") switch
        {
            null => Bool(p, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never,
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            var other => throw new TokenizerFormatException(path, $"pre_tokenizer Metaspace prepend_scheme '{other}' is not one of always, first, never"),
        };
        if (p.TryGetProperty("add_prefix_space", out var add) && add.ValueKind == JsonValueKind.False)
        {
            scheme = PrependScheme.Never;
        }

        return new Metaspace(replacement, scheme, Bool(p, "split", true));
    }

    private TemplateProcessor PostProcessor(JsonElement? processor, Func<string, int> id)
    {
        if (processor is not { } p)
        {
            return TemplateProcessor.None;
        }

        var type = TypeOf(p, "post_processor");
        switch (type)
        {
            case "BertProcessing":
            case "RobertaProcessing":
            {
                var cls = p.GetProperty("cls")[1].GetInt32();
                var sep = p.GetProperty("sep")[1].GetInt32();
                return type == "BertProcessing" ? TemplateProcessor.Bert(cls, sep) : TemplateProcessor.Roberta(cls, sep);
            }

            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
                if (Object(p, "special_tokens") is { } table)
                {
                    foreach (var entry in table.EnumerateObject())
                    {
                        specials[entry.Name] = entry.Value.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
                    }
                }

                List<TemplateItem> Items(string name) => Array(p, name).Select(item =>
                {
                    if (item.TryGetProperty("Sequence", out var sequence))
                    {
                        var which = String(sequence, "id") switch
                        {
                            "A" => 0,
                            "B" => 1,
                            var other => throw new TokenizerFormatException(path, $"post_processor template sequence '{other}' is neither A nor B"),
                        };
                        return new TemplateItem(which, [], sequence.GetProperty("type_id").GetInt32());
                    }

                    var special = item.GetProperty("SpecialToken");
                    var token = String(special, "id") ?? "";
                    var ids = specials.TryGetValue(token, out var listed) ? listed : [id(token)];
                    return new TemplateItem(-1, ids, special.GetProperty("type_id").GetInt32());
                }).ToList();
                return new TemplateProcessor(Items("single"), Items("pair"));
            }

            default:
                throw Unsupported("post_processor", type);
        }
    }

    private TokenizerFormatException Unsupported(string component, string type) => new(path, $"{component} type '{type}' is not supported");

    private string TypeOf(JsonElement element, string component) =>
        String(element, "type") ?? throw new TokenizerFormatException(path, $"{component} has no type");

    private static JsonElement? Object(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static IEnumerable<JsonElement> Array(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];

    private static string? String(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Bool(JsonElement parent, string name, bool fallback) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : fallback;
}
