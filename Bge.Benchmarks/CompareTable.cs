using System.Globalization;
using Bge.Core;
using Bge.Measurement;

namespace Bge.Benchmarks;

/// <summary>
/// The table of <c>compare</c>. Each case is measured in rounds; in a round every engine runs once, in a fresh
/// child process (<see cref="CompareProbe"/>) while the others are idle, and the engine that starts moves on by one
/// each round, so none always follows the same neighbour. An engine's cell is the median of its rounds; a ratio is the
/// median of the rounds' own ratios, with their spread (min–max): a round in which the host slowed down moves both
/// sides of its ratio alike.
/// </summary>
/// <param name="engines">The engines, one column each.</param>
/// <param name="ratios">The ratio columns: numerator and denominator, indexes into <paramref name="engines"/>.</param>
/// <param name="peak">The FMA peak in GFLOP/s, for MFU columns (one per engine); none when null.</param>
internal sealed class CompareTable(IReadOnlyList<CompareEngine> engines, IReadOnlyList<(int Numerator, int Denominator)> ratios, int threads, double seconds, int rounds, double? peak)
{
    private const int NameWidth = 38;
    private const int CellWidth = 17;
    private const int RatioWidth = 20;
    private const int MfuWidth = 13;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public void PrintHeader()
    {
        Print("case", [.. engines.Select(e => e.Label)], [.. ratios.Select(RatioTitle)], Mfu(engines.Select(e => e.Label + " MFU")));
        Print(new string('-', NameWidth), [.. engines.Select(_ => new string('-', CellWidth))], [.. ratios.Select(_ => new string('-', RatioWidth))], Mfu(engines.Select(_ => new string('-', MfuWidth))), separator: '-');
    }

    /// <summary>What the ratio columns and the MFU columns mean, for below the table.</summary>
    public string Legend =>
        $"ratios: the median over the {rounds} rounds of each round's ratio, with their min–max; numerator ÷ denominator for rates, inverted for rows marked (↓), so above 1 is better for the numerator"
        + (peak is null ? "" : "; MFU = achieved GFLOP/s ÷ the FMA peak above");

    /// <summary>Results of one case, [engine][round].</summary>
    public IReadOnlyDictionary<string, double>[][] Measure(string model, string @case)
    {
        var results = engines.Select(_ => new IReadOnlyDictionary<string, double>[rounds]).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var turn = 0; turn < engines.Count; turn++)
            {
                var e = (round + turn) % engines.Count;
                results[e][round] = CompareProbe.Measure(engines[e], model, @case, threads, seconds);
                Console.Error.WriteLine(string.Create(C, $"  {model} {@case} round {round + 1} {engines[e].Label}: {string.Join(' ', results[e][round].Select(r => $"{r.Key}={r.Value:0.###}"))}"));
            }
        }

        return results;
    }

    /// <summary>One row of a measured value: each engine's median, the ratios, and MFU where <paramref name="flopsPerUnit"/> is given.</summary>
    public void Row(string name, IReadOnlyDictionary<string, double>[][] results, string key, string format = "N1", bool lowerIsBetter = false, bool withRatios = true, double flopsPerUnit = 0)
    {
        var medians = results.Select(byRound => Median(byRound, key)).ToArray();
        var ratioCells = ratios.Select(r =>
        {
            if (!withRatios)
            {
                return "";
            }

            var perRound = Enumerable.Range(0, rounds).Select(i => lowerIsBetter
                ? results[r.Denominator][i][key] / results[r.Numerator][i][key]
                : results[r.Numerator][i][key] / results[r.Denominator][i][key]).ToArray();
            return string.Create(C, $"{SingleCalls.Median(perRound):F2}× ({perRound.Min():F2}–{perRound.Max():F2})");
        });
        Values(name, medians, format, flopsPerUnit, [.. ratioCells]);
    }

    /// <summary>One row of given values (NaN leaves a cell empty), with the ratio cells given or none.</summary>
    public void Values(string name, double[] values, string format, double flopsPerUnit = 0, string[]? ratioCells = null)
    {
        string Cell(double v) => double.IsFinite(v) ? v.ToString(format, C) : "";
        var mfu = Mfu(values.Select(v => flopsPerUnit > 0 && double.IsFinite(v) ? (v * flopsPerUnit / 1e9 / peak!.Value).ToString("P0", C) : ""));
        Print(name, [.. values.Select(Cell)], ratioCells ?? [.. ratios.Select(_ => "")], mfu);
    }

    /// <summary>One row whose cells join the medians of several values with '/'; no ratios.</summary>
    public void Joined(string name, IReadOnlyDictionary<string, double>[][] results, string[] keys, string format) =>
        Print(name, [.. results.Select(byRound => string.Join('/', keys.Select(key => Median(byRound, key).ToString(format, C))))], [.. ratios.Select(_ => "")], Mfu(engines.Select(_ => "")));

    /// <summary>A note under the rows just printed.</summary>
    public static void Note(string text) => Console.WriteLine($"|   ({text})");

    private string RatioTitle((int Numerator, int Denominator) ratio)
    {
        var (numerator, denominator) = (engines[ratio.Numerator], engines[ratio.Denominator]);
        return numerator.Ort == denominator.Ort
            ? $"{Precisions.Name(numerator.Precision)} ÷ {Precisions.Name(denominator.Precision)}"
            : $"{numerator.Label} ÷ {denominator.Label}";
    }

    private static double Median(IReadOnlyDictionary<string, double>[] byRound, string key) => SingleCalls.Median(byRound.Select(r => r[key]));

    private string[] Mfu(IEnumerable<string> cells) => peak is null ? [] : [.. cells];

    private static void Print(string name, string[] cells, string[] ratioCells, string[] mfuCells, char separator = ' ')
    {
        var columns = cells.Select(c => c.PadLeft(CellWidth)).Concat(ratioCells.Select(c => c.PadLeft(RatioWidth))).Concat(mfuCells.Select(c => c.PadLeft(MfuWidth)));
        var gap = separator == ' ' ? " | " : "-|-";
        Console.WriteLine($"|{separator}{name.PadRight(NameWidth)}{gap}{string.Join(gap, columns)}{separator}|");
    }
}
