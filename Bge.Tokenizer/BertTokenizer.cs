using System.Text;
using System.Text.Json;

namespace Bge.Tokenizer;

/// <summary>
/// BERT tokenization with Hugging Face's ids: special tokens matched literally in the raw text, then
/// <see cref="BertNormalizer"/>, BertPreTokenizer (split on whitespace, isolate punctuation) and
/// <see cref="WordPiece"/>, then <c>[CLS] a [SEP]</c> or <c>[CLS] a [SEP] b [SEP]</c> with truncation to the
/// maximum length. Tokenization stops as soon as the maximum is reached, so a megabyte of text that will be cut
/// costs no more than the part that is kept. Thread-safe.
/// </summary>
public sealed class BertTokenizer
{
    private static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    private readonly (string Text, int Id)[] _specials;

    /// <summary>Creates a tokenizer.</summary>
    /// <param name="vocabulary">The WordPiece vocabulary.</param>
    /// <param name="normalizer">The normalizer (lowercasing, accent-stripping BERT by default).</param>
    /// <param name="maxLength">Default maximum sequence length, specials included.</param>
    /// <param name="maxInputCharsPerWord">Longest word split by WordPiece rather than mapped to [UNK].</param>
    public BertTokenizer(Vocabulary vocabulary, BertNormalizer? normalizer = null, int maxLength = 512, int maxInputCharsPerWord = 100)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        Vocabulary = vocabulary;
        Normalizer = normalizer ?? new BertNormalizer();
        MaxLength = maxLength;
        WordPiece = new WordPiece(vocabulary, maxInputCharsPerWord);
        _specials = SpecialTokens.Where(t => vocabulary.TryGetId(t, out _)).Select(t => (t, vocabulary.TryGetId(t, out var id) ? id : -1)).ToArray();
    }

    /// <summary>The vocabulary.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The normalizer.</summary>
    public BertNormalizer Normalizer { get; }

    /// <summary>The WordPiece model.</summary>
    public WordPiece WordPiece { get; }

    /// <summary>Default maximum sequence length, specials included.</summary>
    public int MaxLength { get; }

    /// <summary>A tokenizer from a vocab.txt.</summary>
    /// <param name="vocabPath">The vocab.txt.</param>
    /// <param name="lowercase">Lowercase and strip accents (uncased models) or not (cased models).</param>
    /// <param name="maxLength">Default maximum sequence length.</param>
    public static BertTokenizer FromVocabFile(string vocabPath, bool lowercase = true, int maxLength = 512) =>
        new(Vocabulary.Load(vocabPath), new BertNormalizer(StripAccents: lowercase, Lowercase: lowercase), maxLength);

    /// <summary>
    /// A tokenizer from a model directory: its tokenizer.json if present (vocabulary and normalizer options), else
    /// vocab.txt with tokenizer_config.json's do_lower_case; model_max_length caps the default maximum length.
    /// </summary>
    /// <exception cref="VocabularyException">No usable tokenizer file, or a malformed one.</exception>
    public static BertTokenizer FromDirectory(string directory, int maxLength = 512)
    {
        var config = ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        if (config is { } c && c.TryGetProperty("model_max_length", out var m) && m.TryGetInt64(out var declared) && declared > 2)
        {
            maxLength = (int)Math.Min(maxLength, declared);
        }

        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson))
        {
            return FromTokenizerJson(tokenizerJson, maxLength);
        }

        var vocab = Path.Combine(directory, "vocab.txt");
        if (!File.Exists(vocab))
        {
            throw new VocabularyException(directory, "no tokenizer.json or vocab.txt in the model directory");
        }

        var lowercase = config is not { } cc || !cc.TryGetProperty("do_lower_case", out var lower) || lower.ValueKind != JsonValueKind.False;
        return FromVocabFile(vocab, lowercase, maxLength);
    }

    /// <summary>A tokenizer from a Hugging Face tokenizer.json with a WordPiece model and a BertNormalizer.</summary>
    /// <exception cref="VocabularyException">The file is not such a tokenizer.json.</exception>
    public static BertTokenizer FromTokenizerJson(string path, int maxLength = 512)
    {
        var root = ReadJson(path) ?? throw new VocabularyException(path, "not found");
        try
        {
            var model = root.GetProperty("model");
            if (model.TryGetProperty("type", out var type) && type.GetString() != "WordPiece")
            {
                throw new VocabularyException(path, $"model type '{type.GetString()}' is not WordPiece");
            }

            var vocab = model.GetProperty("vocab");
            var tokens = new string[vocab.EnumerateObject().Count()];
            foreach (var entry in vocab.EnumerateObject())
            {
                var id = entry.Value.GetInt32();
                if ((uint)id >= (uint)tokens.Length || tokens[id] is not null)
                {
                    throw new VocabularyException(path, $"token '{entry.Name}' has id {id}, outside 0..{tokens.Length - 1} or taken twice");
                }

                tokens[id] = entry.Name;
            }

            var maxChars = model.TryGetProperty("max_input_chars_per_word", out var mc) ? mc.GetInt32() : 100;
            var normalizer = new BertNormalizer();
            if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object)
            {
                bool Flag(string name, bool fallback) => n.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
                var lowercase = Flag("lowercase", true);
                normalizer = new BertNormalizer(Flag("clean_text", true), Flag("handle_chinese_chars", true), Flag("strip_accents", lowercase), lowercase);
            }

            return new BertTokenizer(new Vocabulary(tokens, path), normalizer, maxLength, maxChars);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new VocabularyException(path, "not a WordPiece tokenizer.json: " + e.Message, e);
        }
    }

    /// <summary>Encodes one text as <c>[CLS] pieces [SEP]</c>, truncated to <paramref name="maxLength"/> tokens.</summary>
    /// <param name="text">Any string (empty, whitespace, lone surrogates and control characters included).</param>
    /// <param name="maxLength">Maximum tokens including the two specials; the tokenizer's default when null.</param>
    public Encoding Encode(string text, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var max = CheckMax(maxLength, 2);
        var pieces = new Pieces();
        var truncated = Tokenize(text, pieces, max - 2);
        var ids = new int[pieces.Count + 2];
        var offsets = new (int, int)[pieces.Count + 2];
        ids[0] = Vocabulary.ClsId;
        pieces.Ids.CopyTo(ids, 1);
        pieces.Offsets.CopyTo(offsets, 1);
        ids[^1] = Vocabulary.SepId;
        return new Encoding(ids, new int[ids.Length], offsets, truncated);
    }

    /// <summary>Encodes a pair as <c>[CLS] a [SEP] b [SEP]</c> (type ids 0 then 1), with longest-first truncation.</summary>
    public Encoding EncodePair(string first, string second, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var max = CheckMax(maxLength, 3);
        var a = new Pieces();
        var b = new Pieces();
        Tokenize(first, a, int.MaxValue);
        Tokenize(second, b, int.MaxValue);
        var (n1, n2) = LongestFirst(a.Count, b.Count, max - 3);
        var length = n1 + n2 + 3;
        var ids = new int[length];
        var types = new int[length];
        var offsets = new (int, int)[length];
        ids[0] = Vocabulary.ClsId;
        a.Ids.CopyTo(0, ids, 1, n1);
        a.Offsets.CopyTo(0, offsets, 1, n1);
        ids[n1 + 1] = Vocabulary.SepId;
        b.Ids.CopyTo(0, ids, n1 + 2, n2);
        b.Offsets.CopyTo(0, offsets, n1 + 2, n2);
        ids[^1] = Vocabulary.SepId;
        types.AsSpan(n1 + 2).Fill(1);
        return new Encoding(ids, types, offsets, n1 < a.Count || n2 < b.Count);
    }

    /// <summary>Encodes texts and packs them (see <see cref="TokenBatch"/>); <see cref="TokenBatch.ToPadded"/> gives padded arrays.</summary>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encodings = new Encoding[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            encodings[i] = Encode(texts[i] ?? throw new ArgumentNullException(nameof(texts), $"text {i} is null"), maxLength);
        }

        return new TokenBatch(encodings);
    }

    /// <summary>The WordPiece pieces of a text, without specials or truncation.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new Pieces();
        Tokenize(text, pieces, int.MaxValue);
        return pieces.Ids.Select(id => Vocabulary[id]).ToList();
    }

    /// <summary>Joins token ids back into text: specials dropped, <c>##</c> pieces glued to the previous piece.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var builder = new StringBuilder();
        foreach (var id in ids)
        {
            if (id == Vocabulary.ClsId || id == Vocabulary.SepId || id == Vocabulary.PadId)
            {
                continue;
            }

            var token = Vocabulary[id];
            if (token.StartsWith(Vocabulary.ContinuationPrefix, StringComparison.Ordinal))
            {
                builder.Append(token.AsSpan(Vocabulary.ContinuationPrefix.Length));
            }
            else
            {
                builder.Append(builder.Length > 0 ? " " : "").Append(token);
            }
        }

        return builder.ToString();
    }

    /// <summary>Hugging Face's longest-first split of a pair's budget: the shorter side is kept whole when it fits in half.</summary>
    internal static (int First, int Second) LongestFirst(int n1, int n2, int budget)
    {
        if (n1 + n2 <= budget)
        {
            return (n1, n2);
        }

        var swap = n1 > n2;
        var (shorter, longer) = swap ? (n2, n1) : (n1, n2);
        longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if (shorter + longer > budget)
        {
            shorter = budget / 2;
            longer = shorter + (budget % 2);
        }

        return swap ? (longer, shorter) : (shorter, longer);
    }

    private int CheckMax(int? maxLength, int specials)
    {
        var max = maxLength ?? MaxLength;
        if (max < specials + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), max, $"must leave room for at least one token besides the {specials} specials");
        }

        return max;
    }

    /// <summary>Tokenizes until more than <paramref name="limit"/> pieces exist, then cuts to the limit; returns whether it cut.</summary>
    private bool Tokenize(string text, Pieces pieces, int limit)
    {
        var word = new WordBuffer();
        var position = 0;
        while (position < text.Length && pieces.Count <= limit)
        {
            var (special, at) = NextSpecial(text, position);
            TokenizeSegment(text, position, at, pieces, word, limit);
            if (special < 0 || pieces.Count > limit)
            {
                break;
            }

            pieces.Add(_specials[special].Id, (at, at + _specials[special].Text.Length));
            position = at + _specials[special].Text.Length;
        }

        if (pieces.Count > limit)
        {
            pieces.Truncate(limit);
            return true;
        }

        return false;
    }

    private (int Index, int At) NextSpecial(string text, int from)
    {
        for (var at = text.IndexOf('[', from); at >= 0; at = text.IndexOf('[', at + 1))
        {
            for (var s = 0; s < _specials.Length; s++)
            {
                if (text.AsSpan(at).StartsWith(_specials[s].Text, StringComparison.Ordinal))
                {
                    return (s, at);
                }
            }
        }

        return (-1, text.Length);
    }

    private void TokenizeSegment(string text, int start, int end, Pieces pieces, WordBuffer word, int limit)
    {
        Span<System.Text.Rune> normalized = stackalloc System.Text.Rune[BertNormalizer.MaxExpansion];
        for (var i = start; i < end && pieces.Count <= limit;)
        {
            var origin = i;
            var rune = BertNormalizer.ReadRune(text, ref i);

            var count = Normalizer.Normalize(rune, normalized);
            foreach (var r in normalized[..count])
            {
                if (UnicodeClasses.IsWhitespace(r))
                {
                    word.FlushTo(WordPiece, pieces);
                }
                else if (UnicodeClasses.IsPunctuation(r))
                {
                    word.FlushTo(WordPiece, pieces);
                    word.Append(r, origin, i);
                    word.FlushTo(WordPiece, pieces);
                }
                else
                {
                    word.Append(r, origin, i);
                }
            }
        }

        word.FlushTo(WordPiece, pieces);
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new VocabularyException(path, "not valid JSON: " + e.Message, e);
        }
    }

    /// <summary>Token ids with the input range each came from.</summary>
    private sealed class Pieces
    {
        public List<int> Ids { get; } = [];

        public List<(int Start, int End)> Offsets { get; } = [];

        public int Count => Ids.Count;

        public void Add(int id, (int, int) offset)
        {
            Ids.Add(id);
            Offsets.Add(offset);
        }

        public void Truncate(int count)
        {
            Ids.RemoveRange(count, Ids.Count - count);
            Offsets.RemoveRange(count, Offsets.Count - count);
        }
    }

    /// <summary>
    /// The word being built: its normalized UTF-16 text and, per unit, the input range it came from. Words longer
    /// than WordPiece accepts are only counted, so memory stays bounded whatever the input.
    /// </summary>
    private sealed class WordBuffer
    {
        private const int Capacity = 1024;
        private readonly char[] _chars = new char[Capacity];
        private readonly int[] _from = new int[Capacity];
        private readonly int[] _to = new int[Capacity];
        private readonly List<int> _ids = [];
        private readonly List<(int First, int Last)> _spans = [];
        private int _length;
        private int _codePoints;
        private int _start;
        private int _end;

        public void Append(System.Text.Rune rune, int from, int to)
        {
            if (_codePoints == 0)
            {
                _start = from;
            }

            _end = to;
            _codePoints++;
            if (_length + 2 <= Capacity)
            {
                var written = rune.EncodeToUtf16(_chars.AsSpan(_length));
                for (var k = 0; k < written; k++)
                {
                    _from[_length + k] = from;
                    _to[_length + k] = to;
                }

                _length += written;
            }
        }

        public void FlushTo(WordPiece wordPiece, Pieces pieces)
        {
            if (_codePoints == 0)
            {
                return;
            }

            _ids.Clear();
            _spans.Clear();
            wordPiece.Tokenize(_chars.AsSpan(0, _length), _codePoints, _ids, _spans);
            for (var p = 0; p < _ids.Count; p++)
            {
                var whole = _ids.Count == 1 && (_codePoints > wordPiece.MaxInputCharsPerWord || _ids[p] == wordPiece.Vocabulary.UnkId);
                pieces.Add(_ids[p], whole ? (_start, _end) : (_from[_spans[p].First], _to[_spans[p].Last]));
            }

            _length = 0;
            _codePoints = 0;
        }
    }
}
