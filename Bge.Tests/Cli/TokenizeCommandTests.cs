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
