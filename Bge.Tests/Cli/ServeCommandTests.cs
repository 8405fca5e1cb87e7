using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Bge.Tests.Cli;

/// <summary><c>bge serve</c> as a user runs it: its own process, flags and environment variables, stopped by SIGTERM.</summary>
[NonParallelizable]
public sealed class ServeCommandTests
{
    [Test]
    public async Task ServesWithFlagsAndEnvironmentAndExitsCleanlyOnSigterm()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "bge.dll"), "serve", "--model", TestPaths.Arctic, "--port", "0", "--max-batch-tokens", "1000"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["MAX_CLIENT_BATCH_SIZE"] = "2";
        start.Environment["MAX_BATCH_TOKENS"] = "7"; // the flag wins
        using var process = Process.Start(start)!;
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => errors.AppendLine(e.Data);
        process.BeginErrorReadLine();
        try
        {
            var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.That(first, Does.StartWith("bge serve: listening on http://127.0.0.1:"), () => errors.ToString());
            var address = new Uri(first!.Split(' ')[4]);
            using var http = new HttpClient { BaseAddress = address };
            for (var clock = Stopwatch.StartNew(); (await http.GetAsync("/ready")).StatusCode != HttpStatusCode.OK; await Task.Delay(50))
            {
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), "not ready within a minute");
            }

            var info = JsonDocument.Parse(await http.GetStringAsync("/info")).RootElement;
            Assert.That(info.GetProperty("max_client_batch_size").GetInt32(), Is.EqualTo(2));
            Assert.That(info.GetProperty("max_batch_tokens").GetInt32(), Is.EqualTo(1000));
            using var three = await http.PostAsync("/embed", Bge.Tests.Server.ServerTests.Json(new { inputs = new[] { "a", "b", "c" } }));
            Assert.That((int)three.StatusCode, Is.EqualTo(422));

            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(process.ExitCode, Is.Zero, () => errors.ToString());
            Assert.That(await process.StandardOutput.ReadToEndAsync(), Does.Contain("bge serve: stopped"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Test]
    public void ABadEnvironmentValueIsRefusedNamingTheVariable()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "bge.dll"), "serve", "--model", TestPaths.Arctic, "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["MAX_CONCURRENT_REQUESTS"] = "many";
        using var process = Process.Start(start)!;
        Assert.That(process.WaitForExit(60_000), Is.True);
        Assert.That(process.ExitCode, Is.Not.Zero);
        Assert.That(process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd(), Does.Contain("MAX_CONCURRENT_REQUESTS='many'"));
    }
}
