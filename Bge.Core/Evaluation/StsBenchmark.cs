using System.Globalization;

namespace Bge.Core.Evaluation;

/// <summary>One STS pair: two sentences and their gold similarity (0–5 in STS-B).</summary>
/// <param name="Sentence1">The first sentence.</param>
/// <param name="Sentence2">The second sentence.</param>
/// <param name="Score">The gold similarity.</param>
public sealed record StsPair(string Sentence1, string Sentence2, double Score);

/// <summary>
/// The STS Benchmark file format (<c>sts-test.csv</c>): tab-separated genre, file, year, id, gold score,
/// sentence 1, sentence 2, and on some rows extra source columns, which are ignored.
/// </summary>
public static class StsBenchmark
{
    /// <summary>Reads every pair of an STS-B file.</summary>
    /// <exception cref="InvalidDataException">A line has fewer than seven columns or an unreadable score (the message names file and line).</exception>
    public static IReadOnlyList<StsPair> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var pairs = new List<StsPair>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            var columns = line.Split('\t');
            if (columns.Length < 7)
            {
                throw new InvalidDataException($"{path}, line {number}: {columns.Length} tab-separated columns, expected at least 7 (score in the 5th, sentences in the 6th and 7th)");
            }

            if (!double.TryParse(columns[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score))
            {
                throw new InvalidDataException($"{path}, line {number}: the score '{columns[4]}' is not a number");
            }

            pairs.Add(new StsPair(columns[5], columns[6], score));
        }

        return pairs;
    }

    /// <summary>Every distinct sentence of the pairs (sentence 1, then sentence 2, in first-occurrence order).</summary>
    public static IReadOnlyList<string> UniqueSentences(IEnumerable<StsPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sentences = new List<string>();
        foreach (var pair in pairs)
        {
            foreach (var sentence in new[] { pair.Sentence1, pair.Sentence2 })
            {
                if (seen.Add(sentence))
                {
                    sentences.Add(sentence);
                }
            }
        }

        return sentences;
    }
}
