using System.Text;
using System.Text.Json;

namespace Bge.Cli;

/// <summary>Reading input texts (plain lines or one JSON string per line) and writing JSON lines.</summary>
internal static class TextFiles
{
    public static IEnumerable<string> Read(string path, string format)
    {
        var lines = path == "-" ? ReadStdin() : File.ReadLines(path, new UTF8Encoding(false));
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (format == "text")
            {
                yield return line;
                continue;
            }

            if (line.Length == 0)
            {
                continue;
            }

            string? text;
            try
            {
                text = JsonSerializer.Deserialize(line, CliJsonContext.Default.String);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: not a JSON string ({e.Message})", e);
            }

            yield return text ?? throw new InvalidDataException($"{path}:{number}: null instead of a JSON string");
        }
    }

    public static TextWriter Writer(string path) =>
        path == "-" ? Console.Out : new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" };

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
