using System.Text.Json;

namespace Bge.Tests;

/// <summary>One line of the shared golden files: Hugging Face's ids and ONNX Runtime's pooled embeddings.</summary>
internal sealed record GoldenLine(int Line, string Text, int[] Ids, float[]? Cls, float[]? Mean)
{
    public override string ToString() => $"line {Line}";
}

internal static class Golden
{
    public static string PathOf(string file) => System.IO.Path.Combine(TestPaths.Shared, "golden", file);

    public static IReadOnlyList<GoldenLine> Read(string file)
    {
        var path = PathOf(file);
        if (!File.Exists(path))
        {
            Assert.Fail($"golden file {path} not found; set BGE_SHARED to the shared data folder");
        }

        return File.ReadLines(path).Select((line, i) =>
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            float[]? Floats(string name) => root.TryGetProperty(name, out var v) ? v.EnumerateArray().Select(x => x.GetSingle()).ToArray() : null;
            return new GoldenLine(i + 1, root.GetProperty("text").GetString()!, root.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(), Floats("cls"), Floats("mean"));
        }).ToList();
    }
}
