using System.Text.Json;
using Bge.Cli;

namespace Bge.Tests.Cli;

public sealed class TokenizeCommandTests
{
    [Test]
    public void TokenizeWritesHuggingFacesIdsForEveryGoldenTextInOrder()
    {
        var golden = Golden.Read("tokens.jsonl");
        var dir = Directory.CreateTempSubdirectory("bge-cli-").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            var output = Path.Combine(dir, "out.jsonl");
            File.WriteAllLines(input, golden.Select(g => JsonSerializer.Serialize(g.Text)));
            var exit = CliApp.Run(["tokenize", "--model", TestPaths.Arctic, "--input", input, "--input-format", "jsonl", "--output", output]);
            Assert.That(exit, Is.Zero);
            var lines = File.ReadAllLines(output);
            Assert.That(lines, Has.Length.EqualTo(golden.Count));
            for (var i = 0; i < golden.Count; i++)
            {
                Assert.That(JsonSerializer.Deserialize<int[]>(lines[i]), Is.EqualTo(golden[i].Ids), golden[i].ToString());
            }

            File.WriteAllText(input, "Hello world\nembedding\n");
            Assert.That(CliApp.Run(["tokenize", "--model", TestPaths.Arctic, "--max-length", "3", "--input", input, "--output", output]), Is.Zero);
            Assert.That(File.ReadAllLines(output), Is.EqualTo(new[] { "[101,7592,102]", "[101,7861,102]" }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase("tokenizer.json")]
    [TestCase("sentencepiece.bpe.model")]
    public void ADirectoryOfTokenizerFilesAloneGivesXlmrIdsForTextsAndPairs(string tokenizerFile)
    {
        var xlmr = Path.Combine(TestPaths.Shared, "golden", "xlmr");
        var dir = Directory.CreateTempSubdirectory("bge-cli-xlmr-").FullName;
        try
        {
            foreach (var name in new[] { tokenizerFile, "tokenizer_config.json", "special_tokens_map.json" })
            {
                File.Copy(Path.Combine(xlmr, name), Path.Combine(dir, name));
            }

            var golden = File.ReadLines(Path.Combine(xlmr, "tokens.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var input = Path.Combine(dir, "in.jsonl");
            var output = Path.Combine(dir, "out.jsonl");
            File.WriteAllLines(input, golden.Select(g => JsonSerializer.Serialize(g.GetProperty("text").GetString())));
            Assert.That(CliApp.Run(["tokenize", "--model", dir, "--input", input, "--input-format", "jsonl", "--max-length", "128", "--output", output]), Is.Zero);
            var lines = File.ReadAllLines(output);
            Assert.That(lines, Has.Length.EqualTo(golden.Count));
            for (var i = 0; i < golden.Count; i++)
            {
                Assert.That(JsonSerializer.Deserialize<int[]>(lines[i]), Is.EqualTo(golden[i].GetProperty("ids_128").EnumerateArray().Select(x => x.GetInt32())), $"line {i + 1}");
            }

            var pairs = File.ReadLines(Path.Combine(xlmr, "pairs.jsonl")).Take(15).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            File.WriteAllLines(input, pairs.Select(p => JsonSerializer.Serialize(new Dictionary<string, string> { ["query"] = p.GetProperty("query").GetString()!, ["passage"] = p.GetProperty("passage").GetString()! })));
            Assert.That(CliApp.Run(["tokenize", "--model", dir, "--pairs", "--input", input, "--input-format", "jsonl", "--max-length", "128", "--truncation", "only_second", "--output", output]), Is.Zero);
            lines = File.ReadAllLines(output);
            Assert.That(lines, Has.Length.EqualTo(pairs.Count));
            for (var i = 0; i < pairs.Count; i++)
            {
                var expected = pairs[i].GetProperty("128_only_second");
                var got = JsonDocument.Parse(lines[i]).RootElement;
                if (expected.TryGetProperty("error", out _))
                {
                    Assert.That(got.GetProperty("error").GetString(), Does.StartWith("Truncation error: Sequence to truncate too short to respect the provided max_length"), $"pair {i + 1}");
                    continue;
                }

                Assert.That(got.GetProperty("ids").GetRawText(), Is.EqualTo(expected.GetProperty("ids").GetRawText()), $"pair {i + 1}");
                Assert.That(got.GetProperty("type_ids").GetRawText(), Is.EqualTo(expected.GetProperty("type_ids").GetRawText()), $"pair {i + 1}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void AMissingModelDirectoryGivesAClearErrorAndExitCode()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            var exit = CliApp.Run(["tokenize", "--model", "no-such-model", "--input", "-"]);
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error.ToString(), Does.Contain("'no-such-model' is neither a model directory nor a known model"));
        }
        finally
        {
            Console.SetError(previous);
        }
    }
}
