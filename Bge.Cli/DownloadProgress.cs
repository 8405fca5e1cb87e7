using Bge.Weights.Hub;

namespace Bge.Cli;

/// <summary>Download progress on standard error, one line per file redrawn in place, only when it is a terminal.</summary>
internal sealed class DownloadProgress : IProgress<HubProgress>
{
    private string? _file;
    private long _lastMegabyte = -1;

    public static IProgress<HubProgress>? ForTerminal() => Console.IsErrorRedirected ? null : new DownloadProgress();

    public void Report(HubProgress value)
    {
        var megabyte = value.Bytes >> 20;
        if (value.File == _file && megabyte == _lastMegabyte && value.Bytes != value.Total)
        {
            return;
        }

        if (value.File != _file && _file is not null)
        {
            Console.Error.WriteLine();
        }

        (_file, _lastMegabyte) = (value.File, megabyte);
        var total = value.Total is { } t and > 0 ? $" / {t / 1e6:F1} MB ({100.0 * value.Bytes / t:F0}%)" : "";
        Console.Error.Write($"\r{value.File}: {value.Bytes / 1e6:F1} MB{total}   ");
    }
}
