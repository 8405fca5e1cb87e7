using System.CommandLine;
using System.Text.Json;
using Bge.Tokenizer;

namespace Bge.Cli.Commands;

/// <summary>
/// <c>bge tokenize</c>: one JSON array of token ids per input text, in input order, special tokens included; with
/// <c>--pairs</c>, one <c>{"ids", "type_ids"}</c> (or Hugging Face's <c>{"error"}</c>) per (query, passage) pair. The
/// model directory may hold only tokenizer files.
/// </summary>
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
        var pairs = new Option<bool>("--pairs")
        {
            Description = "Each input line is a pair, {\"query\": …, \"passage\": …} or [first, second] (jsonl); print {\"ids\", \"type_ids\"} or {\"error\"} per pair.",
        };
        var truncation = CommonOptions.Truncation();
        var command = new Command("tokenize", "Write the token ids of each input text as a JSON array per line.") { model, maxLength, input, format, output, pairs, truncation };
        command.SetAction(parse =>
        {
            var directory = ModelResolver.Create().Resolve(parse.GetValue(model));
            var tokenizer = Tokenizer.Tokenizer.FromDirectory(directory);
            using var writer = TextFiles.Writer(parse.GetValue(output) ?? "-");
            if (parse.GetValue(pairs))
            {
                var strategy = CommonOptions.ParseTruncation(parse.GetValue(truncation));
                foreach (var (first, second, _) in TextFiles.ReadPairs(parse.GetValue(input)!))
                {
                    writer.WriteLine(PairLine(tokenizer, first, second, parse.GetValue(maxLength), strategy));
                }

                return 0;
            }

            foreach (var text in TextFiles.Read(parse.GetValue(input)!, parse.GetValue(format)!))
            {
                writer.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(text, parse.GetValue(maxLength)).Ids, CliJsonContext.Default.Int32Array));
            }

            return 0;
        });
        return command;
    }

    private static string PairLine(Tokenizer.Tokenizer tokenizer, string first, string second, int? maxLength, TruncationStrategy strategy)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            try
            {
                var encoding = tokenizer.EncodePair(first, second, maxLength, strategy);
                json.WriteStartArray("ids");
                foreach (var id in encoding.Ids)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
                json.WriteStartArray("type_ids");
                foreach (var type in encoding.TypeIds)
                {
                    json.WriteNumberValue(type);
                }

                json.WriteEndArray();
            }
            catch (TruncationException e)
            {
                json.WriteString("error", e.Message);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
