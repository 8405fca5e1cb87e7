using System.Text;
using System.Text.Json;

namespace Bge.Cli;

/// <summary>Reading input texts (plain lines, or one JSON string or <c>{"text": …}</c> per line) and (query, passage) pairs, and writing JSON lines.</summary>
internal static class TextFiles
{
    public static IEnumerable<string> Read(string path, string format) => ReadNumbered(path, format).Select(t => t.Text);

    /// <summary>The texts with their 1-based line numbers (jsonl skips blank lines, so a text's line is not its position).</summary>
    public static IEnumerable<(string Text, int Line)> ReadNumbered(string path, string format)
    {
        var number = 0;
        foreach (var line in Lines(path))
        {
            number++;
            if (format == "text")
            {
                yield return (line, number);
                continue;
            }

            if (line.Length == 0)
            {
                continue;
            }

            string? text;
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                text = root.ValueKind switch
                {
                    JsonValueKind.String => root.GetString(),
                    JsonValueKind.Object when root.TryGetProperty("text", out var field) && field.ValueKind == JsonValueKind.String => field.GetString(),
                    JsonValueKind.Null => null,
                    var kind => throw new InvalidDataException($"{path}:{number}: not a JSON string or {{\"text\": string}} object (a JSON {kind.ToString().ToLowerInvariant()})"),
                };
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not a JSON string ({e.Message})", e);
            }

            yield return (text ?? throw new InvalidDataException($"{path}:{number}: null instead of a JSON string"), number);
        }
    }

    /// <summary>
    /// (query, passage) pairs, one JSON line each: <c>{"query": …, "passage": …}</c> or <c>[first, second]</c>; blank
    /// lines skipped; a malformed line refused naming file and line.
    /// </summary>
    public static IEnumerable<(string First, string Second, int Line)> ReadPairs(string path)
    {
        var number = 0;
        foreach (var line in Lines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            (string?, string?) pair;
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                pair = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() == 2 ? (root[0].GetString(), root[1].GetString())
                    : root.ValueKind == JsonValueKind.Object ? (Field(root, "query"), Field(root, "passage"))
                    : (null, null);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{number}: not a JSON pair ({e.Message})", e);
            }

            yield return pair is (string first, string second) ? (first, second, number)
                : throw new InvalidDataException($"{path}:{number}: a pair is {{\"query\": string, \"passage\": string}} or [string, string]");
        }
    }

    public static TextWriter Writer(string path) =>
        path == "-" ? Console.Out : new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" };

    /// <summary>A byte stream to write UTF-8 to: the file (replaced), or <see cref="Console.Out"/> for '-'.</summary>
    public static Stream OpenOutput(string path) => path == "-" ? new TextWriterStream(Console.Out) : File.Create(path);

    private static IEnumerable<string> Lines(string path) => path == "-" ? ReadStdin() : File.ReadLines(path, new UTF8Encoding(false));

    private static string? Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IEnumerable<string> ReadStdin()
    {
        while (Console.In.ReadLine() is { } line)
        {
            yield return line;
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(float[]))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
