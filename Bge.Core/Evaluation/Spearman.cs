namespace Bge.Core.Evaluation;

/// <summary>Spearman's rank correlation, as scipy.stats.spearmanr computes it (tied values share their average rank).</summary>
public static class Spearman
{
    /// <summary>The Pearson correlation of the ranks of <paramref name="x"/> and <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException">The lists differ in length, hold fewer than two values, or a NaN.</exception>
    public static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"{x.Count} values against {y.Count}", nameof(y));
        }

        if (x.Count < 2)
        {
            throw new ArgumentException("a correlation needs at least two pairs", nameof(x));
        }

        return Pearson(Ranks(x), Ranks(y));
    }

    /// <summary>1-based ranks; tied values get the mean of the ranks they span.</summary>
    /// <exception cref="ArgumentException">A value is NaN.</exception>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Any(double.IsNaN))
        {
            throw new ArgumentException("a value is NaN", nameof(values));
        }

        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start + 1;
            while (end < order.Length && values[order[end]] == values[order[start]])
            {
                end++;
            }

            // Positions start..end-1 hold equal values: each gets the mean of ranks start+1..end.
            var rank = (start + 1 + end) / 2.0;
            for (var i = start; i < end; i++)
            {
                ranks[order[i]] = rank;
            }

            start = end;
        }

        return ranks;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }

        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }
}
