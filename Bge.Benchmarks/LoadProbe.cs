using System.Diagnostics;
using System.Globalization;
using Bge.Core;

namespace Bge.Benchmarks;

/// <summary>
/// Load time and peak working set, each engine in a fresh process of its own: load the model, embed one short
/// text, report. Run as <c>Bge.Benchmarks load-probe ours|ort PATH THREADS</c>.
/// </summary>
internal static class LoadProbe
{
    public static (double Milliseconds, double PeakMegabytes) Measure(string engine, string path, int threads)
    {
        var self = Environment.ProcessPath!;
        var arguments = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            arguments.Add(typeof(LoadProbe).Assembly.Location);
        }

        arguments.AddRange(["load-probe", engine, path, threads.ToString(CultureInfo.InvariantCulture)]);
        using var process = Process.Start(new ProcessStartInfo(self, arguments) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        return (double.Parse(output[0], CultureInfo.InvariantCulture), double.Parse(output[1], CultureInfo.InvariantCulture));
    }

    public static int Run(string engine, string path, int threads)
    {
        var sw = Stopwatch.StartNew();
        double loaded;
        if (engine == "ours")
        {
            var embedder = Embedder.Load(path, new EmbedderOptions { DegreeOfParallelism = threads });
            loaded = sw.Elapsed.TotalMilliseconds;
            embedder.Encode("I love machine learning and nlp");
        }
        else
        {
            using var ort = new OrtEncoder(File.ReadAllBytes(path), threads);
            loaded = sw.Elapsed.TotalMilliseconds;
            var ids = Compare.RandomIds(1, 9, 30522);
            ort.Run(Bge.Tokenizer.TokenBatch.FromIds(ids).ToPadded(Bge.Tokenizer.Padding.Longest, 0));
        }

        using var self = Process.GetCurrentProcess();
        self.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{loaded:F1} {self.PeakWorkingSet64 / 1e6:F1}"));
        return 0;
    }
}
