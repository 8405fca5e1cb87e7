using System.CommandLine;
using System.Text.Json;
using Bge.Tokenizer;

namespace Bge.Cli.Commands;

/// <summary><c>bge tokenize</c>: one JSON array of token ids per input text, in input order.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var maxLength = CommonOptions.MaxLength();
        var input = CommonOptions.Input();
        input.Required = true;
        var format = CommonOptions.InputFormat();
        var output = CommonOptions.Output();
        var command = new Command("tokenize", "Write the token ids of each input text as a JSON array per line.") { model, maxLength, input, format, output };
        command.SetAction(parse =>
        {
            var directory = ModelResolver.Create().Resolve(parse.GetValue(model));
            var tokenizer = Tokenizer.Tokenizer.FromDirectory(directory);
            using var writer = TextFiles.Writer(parse.GetValue(output) ?? "-");
            foreach (var text in TextFiles.Read(parse.GetValue(input)!, parse.GetValue(format)!))
            {
                writer.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(text, parse.GetValue(maxLength)).Ids, CliJsonContext.Default.Int32Array));
            }

            return 0;
        });
        return command;
    }
}
