using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Bge.Tokenizer.Normalizers;

namespace Bge.Tests.Tokenizer;

/// <summary>The tokenizer's own Unicode decomposition data against ICU, and the tokenizer with no ICU at all.</summary>
public sealed class CanonicalDecompositionTests
{
    [Test]
    public void EveryCodePointDecomposesAsIcuDoes()
    {
        Assume.That("é".Normalize(NormalizationForm.FormD), Has.Length.EqualTo(2), "needs ICU in this process to compare against");
        var mismatches = new List<string>();
        Span<Rune> parts = stackalloc Rune[CanonicalDecomposition.MaxLength];
        var decomposing = 0;
        for (var cp = 0; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var text = char.ConvertFromUtf32(cp);
            string expected;
            try
            {
                expected = text.Normalize(NormalizationForm.FormD);
            }
            catch (ArgumentException)
            {
                continue;   // a code point ICU refuses to normalize (a noncharacter); the table leaves it as it is
            }

            var length = CanonicalDecomposition.Decompose(new Rune(cp), parts);
            var actual = string.Concat(parts[..length].ToArray().Select(r => r.ToString()));
            decomposing += expected == text ? 0 : 1;
            if (actual != expected)
            {
                mismatches.Add($"U+{cp:X4}: ICU {string.Join(" ", expected.EnumerateRunes().Select(r => r.Value.ToString("X4")))}, ours {string.Join(" ", actual.EnumerateRunes().Select(r => r.Value.ToString("X4")))}");
            }
        }

        TestContext.Out.WriteLine($"{decomposing} code points decompose (Unicode {CanonicalDecomposition.UnicodeVersion} table + Hangul)");
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
        Assert.That(decomposing, Is.EqualTo(2061 + 11_172));
    }

    /// <summary>
    /// The CLI in a child process with invariant globalization (no ICU, as Native AOT apps and many containers run):
    /// the golden texts and the accented sample give Hugging Face's ids exactly as with ICU.
    /// </summary>
    [Test]
    public void WithoutIcuTheGoldenTextsGiveTheSameIds()
    {
        var golden = Golden.Read("tokens.jsonl");
        var lines = TokenizeWithoutIcu(TestPaths.Arctic, golden.Select(g => g.Text).Append("NAÏVE CAFÉ ÉCOLE"));
        Assert.That(lines, Has.Length.EqualTo(golden.Count + 1));
        for (var i = 0; i < golden.Count; i++)
        {
            Assert.That(JsonSerializer.Deserialize<int[]>(lines[i]), Is.EqualTo(golden[i].Ids), $"line {golden[i].Line}");
        }

        Assert.That(JsonSerializer.Deserialize<int[]>(lines[^1]), Is.EqualTo(new[] { 101, 15743, 7668, 12431, 102 }));
    }

    /// <summary>The SentencePiece tokenizer's grapheme walk (StringInfo) and charsmap need no ICU either: every xlmr text, untruncated.</summary>
    [Test]
    public void WithoutIcuTheXlmrTextsGiveTheSameIds()
    {
        var golden = File.ReadLines(Golden.PathOf(Path.Combine("xlmr", "tokens.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var lines = TokenizeWithoutIcu(Path.GetDirectoryName(Golden.PathOf(Path.Combine("xlmr", "tokenizer.json")))!, golden.Select(g => g.GetProperty("text").GetString()!), "--max-length", "100000");
        Assert.That(lines, Has.Length.EqualTo(golden.Count));
        for (var i = 0; i < golden.Count; i++)
        {
            Assert.That(JsonSerializer.Deserialize<int[]>(lines[i]), Is.EqualTo(golden[i].GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())), $"line {i + 1}");
        }
    }

    private static string[] TokenizeWithoutIcu(string model, IEnumerable<string> texts, params string[] options)
    {
        var dir = Directory.CreateTempSubdirectory("bge-invariant-").FullName;
        try
        {
            var input = Path.Combine(dir, "texts.jsonl");
            File.WriteAllLines(input, texts.Select(t => JsonSerializer.Serialize(t)));
            var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "bge.dll"), "tokenize", "--model", model, "--input", input, "--input-format", "jsonl", .. options])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            Assert.That(process.WaitForExit(120_000), Is.True, "bge tokenize did not finish");
            Assert.That(process.ExitCode, Is.Zero, error.Result);
            return output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
