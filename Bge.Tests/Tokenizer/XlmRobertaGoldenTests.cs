using System.Text.Json;
using Bge.Tokenizer;

namespace Bge.Tests.Tokenizer;

using Tokenizer = Bge.Tokenizer.Tokenizer;

/// <summary>
/// The XLM-R style SentencePiece tokenizer against Hugging Face's ids (shared golden/xlmr), from tokenizer.json and
/// from sentencepiece.bpe.model alone: the two routes must agree with Hugging Face, and so with each other.
/// </summary>
public sealed class XlmRobertaGoldenTests
{
    private static readonly Lazy<Tokenizer> FromJson = new(() => Tokenizer.FromTokenizerJson(XlmrFile("tokenizer.json")));
    private static readonly Lazy<Tokenizer> FromModel = new(LoadModelOnly);

    private static readonly Lazy<IReadOnlyList<XlmrLine>> Lines = new(() => File.ReadLines(XlmrFile("tokens.jsonl")).Select((json, i) => XlmrLine.Parse(json, i + 1)).ToList());

    public enum Route
    {
        TokenizerJson,
        SentencePieceModel,
    }

    internal static string XlmrFile(string name) => Golden.PathOf(Path.Combine("xlmr", name));

    internal static Tokenizer For(Route route) => route == Route.TokenizerJson ? FromJson.Value : FromModel.Value;

    [TestCase(Route.TokenizerJson)]
    [TestCase(Route.SentencePieceModel)]
    public void EveryTextGivesHuggingFacesIdsUntruncatedAnd512And128(Route route)
    {
        var tokenizer = For(route);
        Assert.That(Lines.Value, Has.Count.EqualTo(316));
        var mismatches = new List<string>();
        foreach (var line in Lines.Value)
        {
            Compare(line, "ids", line.Ids, tokenizer.Encode(line.Text, int.MaxValue).Ids, mismatches);
            Compare(line, "ids_512", line.Ids512, tokenizer.Encode(line.Text, 512).Ids, mismatches);
            Compare(line, "ids_128", line.Ids128, tokenizer.Encode(line.Text, 128).Ids, mismatches);
        }

        TestContext.Out.WriteLine($"{route}: {3 * Lines.Value.Count - mismatches.Count} of {3 * Lines.Value.Count} id sequences match");
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    [Test]
    public void OffsetsAreHuggingFacesConvertedToUtf16()
    {
        var mismatches = new List<string>();
        foreach (var line in Lines.Value)
        {
            var utf16 = CodePointToUtf16(line.Text);
            var expected = line.Offsets.Select(o => (utf16[o.Start], utf16[o.End])).ToArray();
            var got = FromJson.Value.Encode(line.Text, int.MaxValue).Offsets;
            if (!got.SequenceEqual(expected))
            {
                var at = Enumerable.Range(0, Math.Min(got.Length, expected.Length)).FirstOrDefault(i => got[i] != expected[i]);
                mismatches.Add($"line {line.Number} ({line.Kind}) token {at}: expected {expected.ElementAtOrDefault(at)} got {got.ElementAtOrDefault(at)}");
            }
        }

        TestContext.Out.WriteLine($"{Lines.Value.Count - mismatches.Count} of {Lines.Value.Count} offset sequences match");
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    [TestCase(Route.TokenizerJson)]
    [TestCase(Route.SentencePieceModel)]
    public void EveryPairGivesHuggingFacesIdsTypesAndErrors(Route route)
    {
        var (mismatches, count, errors) = PairGolden.Check(Path.Combine("xlmr", "pairs.jsonl"), For(route));
        TestContext.Out.WriteLine($"{route}: {count - mismatches.Count} of {count} pair entries match ({errors} expected errors)");
        Assert.That(count, Is.EqualTo(300));
        Assert.That(errors, Is.EqualTo(6));
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    [TestCase("end. <mask>x", new[] { 0, 2432, 15, 8001, 4, 70, 2 })]
    [TestCase("Hello world", new[] { 0, 1314, 22, 53, 4, 66, 125, 433, 2 })]
    [TestCase("", new[] { 0, 2 })]
    [TestCase(" ", new[] { 0, 4, 2 })]
    public void KnownAnswers(string text, int[] ids)
    {
        Assert.That(FromJson.Value.Encode(text).Ids, Is.EqualTo(ids));
        Assert.That(FromModel.Value.Encode(text).Ids, Is.EqualTo(ids));
    }

    [Test]
    public void TheTemplateMarksSpecialTokensAndCountsThem()
    {
        var tokenizer = FromJson.Value;
        var pair = tokenizer.EncodePair("a", "b");
        Assert.That(pair.SpecialTokensMask, Is.EqualTo(new[] { true, false, true, true, false, true }));
        Assert.That(pair.TypeIds, Has.All.EqualTo(0));
        Assert.That((tokenizer.SpecialTokensPerText, tokenizer.SpecialTokensPerPair), Is.EqualTo((2, 4)));
        Assert.That((tokenizer.VocabularySize, tokenizer.PadId, tokenizer.TokenToId("<mask>")), Is.EqualTo((8002, 1, 8001)));
        Assert.That(tokenizer.Decode(tokenizer.Encode("Hello world").Ids), Is.EqualTo("Hello world"));
    }

    [Test]
    public void LeftTruncationKeepsTheLastTokens()
    {
        var tokenizer = FromJson.Value;
        var text = Lines.Value.First(l => l.Ids.Length > 200).Text;
        var whole = tokenizer.Encode(text, int.MaxValue).Ids;
        var left = tokenizer.Encode(text, 64, TruncationSide.Left);
        Assert.That(left.Ids, Is.EqualTo(new[] { 0 }.Concat(whole[^63..^1]).Append(2)));
        Assert.That(left.Truncated, Is.True);
    }

    private static void Compare(XlmrLine line, string key, int[] expected, int[] got, List<string> mismatches)
    {
        if (!got.SequenceEqual(expected))
        {
            var at = Enumerable.Range(0, Math.Min(got.Length, expected.Length)).FirstOrDefault(i => got[i] != expected[i]);
            mismatches.Add($"line {line.Number} ({line.Kind}) {key}: lengths {expected.Length}/{got.Length}, first difference at {at}: expected [{string.Join(",", expected.Skip(Math.Max(0, at - 2)).Take(8))}] got [{string.Join(",", got.Skip(Math.Max(0, at - 2)).Take(8))}]");
        }
    }

    /// <summary>Index i of the result is the UTF-16 index of code point i (and one past the end).</summary>
    internal static int[] CodePointToUtf16(string text)
    {
        var map = new List<int>();
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            map.Add(i);
        }

        map.Add(text.Length);
        return [.. map];
    }

    /// <summary>The .model with tokenizer_config.json and special_tokens_map.json, copied to a directory of their own.</summary>
    private static Tokenizer LoadModelOnly()
    {
        var dir = Directory.CreateTempSubdirectory("bge-spm-").FullName;
        try
        {
            foreach (var name in new[] { "sentencepiece.bpe.model", "tokenizer_config.json", "special_tokens_map.json" })
            {
                File.Copy(XlmrFile(name), Path.Combine(dir, name));
            }

            return Tokenizer.FromDirectory(dir, 512);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal sealed record XlmrLine(int Number, string Text, string Kind, int[] Ids, int[] Ids512, int[] Ids128, (int Start, int End)[] Offsets)
    {
        public static XlmrLine Parse(string json, int number)
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            int[] Ids(string name) => root.GetProperty(name).EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var offsets = root.GetProperty("offsets").EnumerateArray().Select(o => (o[0].GetInt32(), o[1].GetInt32())).ToArray();
            return new XlmrLine(number, root.GetProperty("text").GetString()!, root.GetProperty("kind").GetString()!, Ids("ids"), Ids("ids_512"), Ids("ids_128"), offsets);
        }
    }
}
