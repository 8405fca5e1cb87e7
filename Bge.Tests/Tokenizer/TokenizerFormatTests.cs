using Bge.Tokenizer;

namespace Bge.Tests.Tokenizer;

using Tokenizer = Bge.Tokenizer.Tokenizer;

/// <summary>What the tokenizer files may hold: refused components name themselves and the file; both Metaspace field generations read.</summary>
public sealed class TokenizerFormatTests
{
    private const string Unigram = """
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
                  "vocab": [["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0], ["▁", -2.0], ["a", -3.0], ["b", -3.0], ["a▁b", -1.0], ["▁a", -2.5], ["▁ab", -1.0]]}
        """;

    private static string? _directory;

    private static string Write(string json)
    {
        _directory ??= Directory.CreateTempSubdirectory("bge-tokfmt-").FullName;
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [OneTimeTearDown]
    public void Clean()
    {
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [TestCase("\"normalizer\": {\"type\": \"NFKC\"},", "normalizer type 'NFKC'")]
    [TestCase("\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Lowercase\"}]},", "normalizer type 'Lowercase'")]
    [TestCase("\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"},", "Replace with the regex '\\s+'")]
    [TestCase("\"pre_tokenizer\": {\"type\": \"ByteLevel\"},", "pre_tokenizer type 'ByteLevel'")]
    [TestCase("\"post_processor\": {\"type\": \"ByteLevel\"},", "post_processor type 'ByteLevel'")]
    public void UnsupportedComponentsAreRefusedByNameAndFile(string component, string expected)
    {
        var path = Write("{" + component + Unigram + "}");
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromTokenizerJson(path));
        Assert.That(error!.Message, Does.Contain(expected).And.Contain(path));
        Assert.That(error.FilePath, Is.EqualTo(path));
    }

    [TestCase("""{"model": {"type": "BPE", "vocab": {}, "merges": []}}""", "model type 'BPE'")]
    [TestCase("""{"model": {"type": "Unigram", "unk_id": 0, "byte_fallback": true, "vocab": [["<unk>", 0.0]]}}""", "byte_fallback")]
    [TestCase("""{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["<unk>", 0.0]]}}""", "unk_id 5")]
    [TestCase("""{"model": {"type": "Unigram"}""", "not valid JSON")]
    public void UnsupportedOrBrokenModelsAreRefused(string json, string expected)
    {
        var path = Write(json);
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromTokenizerJson(path));
        Assert.That(error!.Message, Does.Contain(expected).And.Contain(path));
    }

    [TestCase("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}""", new[] { 7, 3, 5 })]
    [TestCase("""{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}""", new[] { 7, 3, 5 })]
    [TestCase("""{"type": "Metaspace", "replacement": "▁", "str_rep": "▁", "add_prefix_space": false}""", new[] { 4, 3, 5 })]
    [TestCase("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}""", new[] { 4, 3, 5 })]
    [TestCase("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false}""", new[] { 3, 6 })]
    [TestCase("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false}""", new[] { 6 })]
    public void MetaspaceReadsBothFieldGenerations(string preTokenizer, int[] ids)
    {
        // "a b" becomes ▁a▁b (prepended) or a▁b; split into words at each ▁, or segmented whole, where the piece a▁b wins.
        var path = Write("{\"pre_tokenizer\": " + preTokenizer + "," + Unigram + "}");
        Assert.That(Tokenizer.FromTokenizerJson(path).Encode("a b").Ids, Is.EqualTo(ids));
    }

    [Test]
    public void AFirstPrependSchemeMarksOnlyTheTextStart()
    {
        var path = Write("""{"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "added_tokens": [{"id": 1, "content": "<s>", "special": true}],""" + Unigram + "}");
        Assert.That(Tokenizer.FromTokenizerJson(path).Encode("ab<s>ab").Ids, Is.EqualTo(new[] { 8, 1, 4, 5 }));
    }

    [Test]
    public void ACorruptModelFileNamesTheFileAndTheOffset()
    {
        var model = File.ReadAllBytes(XlmRobertaGoldenTests.XlmrFile("sentencepiece.bpe.model"));
        var path = Write("");
        File.WriteAllBytes(path, model[..1000]);
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromSentencePieceModel(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("not a sentencepiece model"));
        Assert.That(error.Offset, Is.InRange(0, 1000));

        File.WriteAllText(path, "this is not protobuf at all");
        error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromSentencePieceModel(path));
        Assert.That(error!.Offset, Is.Not.Null);
    }

    [Test]
    public void ADirectoryWithoutTokenizerFilesIsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("bge-tokfmt-empty-").FullName;
        try
        {
            var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromDirectory(dir));
            Assert.That(error!.Message, Does.Contain("no tokenizer.json, sentencepiece.bpe.model or vocab.txt"));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}
