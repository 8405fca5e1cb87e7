using System.Text.Json;

namespace Bge.Tests.Tokenizer;

using Tokenizer = Bge.Tokenizer.Tokenizer;

/// <summary>The shared pairs.jsonl files: each (query, passage) under three truncations, ids and type ids or Hugging Face's error.</summary>
internal static class PairGolden
{
    public static readonly (string Key, int MaxLength, Bge.Tokenizer.TruncationStrategy Strategy)[] Settings =
    [
        ("512", 512, Bge.Tokenizer.TruncationStrategy.LongestFirst),
        ("128", 128, Bge.Tokenizer.TruncationStrategy.LongestFirst),
        ("128_only_second", 128, Bge.Tokenizer.TruncationStrategy.OnlySecond),
    ];

    /// <summary>Every mismatch of <paramref name="tokenizer"/> against the file, and how many entries were checked.</summary>
    public static (List<string> Mismatches, int Checked, int Errors) Check(string file, Tokenizer tokenizer)
    {
        var mismatches = new List<string>();
        var count = 0;
        var errors = 0;
        var lines = File.ReadAllLines(Golden.PathOf(file));
        for (var i = 0; i < lines.Length; i++)
        {
            using var document = JsonDocument.Parse(lines[i]);
            var root = document.RootElement;
            var query = root.GetProperty("query").GetString()!;
            var passage = root.GetProperty("passage").GetString()!;
            foreach (var (key, max, strategy) in Settings)
            {
                count++;
                var expected = root.GetProperty(key);
                if (expected.TryGetProperty("error", out _))
                {
                    errors++;
                    try
                    {
                        var got = tokenizer.EncodePair(query, passage, max, strategy);
                        mismatches.Add($"line {i + 1} {key}: expected an error, got {got.Length} ids");
                    }
                    catch (Bge.Tokenizer.TruncationException)
                    {
                    }

                    continue;
                }

                var ids = expected.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var types = expected.GetProperty("type_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var encoding = tokenizer.EncodePair(query, passage, max, strategy);
                if (!encoding.Ids.SequenceEqual(ids) || !encoding.TypeIds.SequenceEqual(types))
                {
                    mismatches.Add($"line {i + 1} {key}: expected [{string.Join(",", ids.Take(30))}] types [{string.Join(",", types.Take(30))}], got [{string.Join(",", encoding.Ids.Take(30))}] types [{string.Join(",", encoding.TypeIds.Take(30))}]");
                }
            }
        }

        return (mismatches, count, errors);
    }
}
