namespace Bge.Tests.Tokenizer;

using Tokenizer = Bge.Tokenizer.Tokenizer;

public sealed class GoldenTokenizerTests
{
    private static readonly Lazy<Tokenizer> Bert = new(() => Tokenizer.FromDirectory(TestPaths.Arctic));

    [Test]
    public void EveryGoldenTextGivesHuggingFacesIds()
    {
        var lines = Golden.Read("tokens.jsonl");
        Assert.That(lines, Has.Count.EqualTo(516));
        var mismatches = lines
            .Select(g => (g, ours: Bert.Value.Encode(g.Text).Ids))
            .Where(x => !x.ours.SequenceEqual(x.g.Ids))
            .Select(x => $"line {x.g.Line} {Escape(x.g.Text)}: expected [{string.Join(",", x.g.Ids.Take(40))}] got [{string.Join(",", x.ours.Take(40))}]")
            .ToList();
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(30)));
    }

    [Test]
    public void EveryGoldenPairGivesHuggingFacesIdsTypesAndErrors()
    {
        var (mismatches, count, errors) = PairGolden.Check("pairs.jsonl", Bert.Value);
        TestContext.Out.WriteLine($"{count - mismatches.Count} of {count} pair entries match ({errors} expected errors)");
        Assert.That(count, Is.EqualTo(360));
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    [TestCase("I love machine learning and nlp", new[] { 101, 1045, 2293, 3698, 4083, 1998, 17953, 2361, 102 })]
    [TestCase("embedding", new[] { 101, 7861, 8270, 4667, 102 })]
    [TestCase("", new[] { 101, 102 })]
    public void KnownAnswers(string text, int[] ids) => Assert.That(Bert.Value.Encode(text).Ids, Is.EqualTo(ids));

    private static string Escape(string text) =>
        string.Concat(text.Take(60).Select(c => c < 0x20 || c > 0x7E ? $"\\u{(int)c:X4}" : c.ToString()));
}
