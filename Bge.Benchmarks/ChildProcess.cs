using System.Diagnostics;
using System.Globalization;

namespace Bge.Benchmarks;

/// <summary>
/// This benchmark program run again in one of its hidden modes, as a process of its own: a measurement there meets
/// no other engine's thread pool, heap or warm caches, and its peak working set is its own.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Runs the child to its end and returns the last line it printed; its standard error passes through.</summary>
    /// <exception cref="InvalidOperationException">The child exited with an error.</exception>
    public static string Run(params string[] arguments)
    {
        var self = Environment.ProcessPath!;
        var all = new List<string>();
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            all.Add(typeof(ChildProcess).Assembly.Location);
        }

        all.AddRange(arguments);
        using var process = Process.Start(new ProcessStartInfo(self, all) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', arguments)} failed (exit {process.ExitCode}): {last}");
        }

        return last;
    }

    /// <summary>
    /// This process's VmHWM in MB: the resident set's high-water mark, what the kernel counts against the process
    /// (mapped model pages included).
    /// </summary>
    public static double PeakMegabytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024 / 1e6;
    }
}
