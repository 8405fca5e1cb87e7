using Bge.Core;

namespace Bge.Cli;

/// <summary>
/// A progress bar on standard error, drawn only when both standard output and standard error are a terminal,
/// so piped or redirected output stays clean. Reports arrive on the encoding thread and are drawn at once.
/// </summary>
internal sealed class ConsoleProgress(string label) : IProgress<EncodeProgress>
{
    private const int Width = 30;
    private int _lastDrawn = -1;

    public static IProgress<EncodeProgress>? ForTerminal(string label) =>
        Console.IsOutputRedirected || Console.IsErrorRedirected ? null : new ConsoleProgress(label);

    public void Report(EncodeProgress value)
    {
        var filled = value.Total == 0 ? Width : (int)((long)value.Done * Width / value.Total);
        if (filled == _lastDrawn && value.Done != value.Total)
        {
            return;
        }

        _lastDrawn = filled;
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string(' ', Width - filled)}] {value.Done}/{value.Total}");
        if (value.Done >= value.Total)
        {
            Console.Error.Write("\r" + new string(' ', label.Length + Width + 24) + "\r");
            _lastDrawn = -1;
        }
    }

    /// <summary>Progress of one part of a larger job: <paramref name="before"/> items done ahead of it, <paramref name="total"/> in all.</summary>
    public static IProgress<EncodeProgress>? Part(IProgress<EncodeProgress>? whole, int before, int total) =>
        whole is null ? null : new PartProgress(whole, before, total);

    private sealed class PartProgress(IProgress<EncodeProgress> whole, int before, int total) : IProgress<EncodeProgress>
    {
        public void Report(EncodeProgress value) => whole.Report(new EncodeProgress(before + value.Done, total));
    }
}
