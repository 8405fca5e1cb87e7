using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Bge.Core.Compression;
using Bge.Tests.Core;

namespace Bge.Tests.Cli;

/// <summary><c>bge serve</c> as a user runs it: its own process, flags and environment variables, stopped by SIGTERM.</summary>
[NonParallelizable]
public sealed class ServeCommandTests
{
    private static Process Serve(string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "bge.dll"), "serve", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    // Runs a test against a started `bge serve` once it is ready, then stops it with SIGTERM and expects exit code 0.
    private static async Task WhileServing(string[] arguments, Dictionary<string, string> environment, Func<HttpClient, Task> test)
    {
        using var process = Serve(arguments, environment);
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

            await test(http);

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

    // Runs `bge serve` that must refuse to start; returns what it printed.
    private static string Refused(string[] arguments, Dictionary<string, string> environment)
    {
        using var process = Serve(arguments, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        Assert.That(process.WaitForExit(60_000), Is.True);
        Assert.That(process.ExitCode, Is.Not.Zero);
        return errors + output.Result;
    }

    [Test]
    public Task ServesWithFlagsAndEnvironmentAndExitsCleanlyOnSigterm() =>
        WhileServing(
            ["--model", TestPaths.Arctic, "--port", "0", "--max-batch-tokens", "1000"],
            new() { ["MAX_CLIENT_BATCH_SIZE"] = "2", ["MAX_BATCH_TOKENS"] = "7" }, // the flag wins
            async http =>
            {
                var info = JsonDocument.Parse(await http.GetStringAsync("/info")).RootElement;
                Assert.That(info.GetProperty("max_client_batch_size").GetInt32(), Is.EqualTo(2));
                Assert.That(info.GetProperty("max_batch_tokens").GetInt32(), Is.EqualTo(1000));
                using var three = await http.PostAsync("/embed", Bge.Tests.Server.ServerTests.Json(new { inputs = new[] { "a", "b", "c" } }));
                Assert.That((int)three.StatusCode, Is.EqualTo(422));
            });

    [Test]
    public void ABadEnvironmentValueIsRefusedNamingTheVariable() =>
        Assert.That(Refused(["--model", TestPaths.Arctic, "--port", "0"], new() { ["MAX_CONCURRENT_REQUESTS"] = "many" }), Does.Contain("MAX_CONCURRENT_REQUESTS='many'"));

    /// <summary>With <c>--reranker</c> alone only the rerank routes are served; the flag wins over RERANKER_ID.</summary>
    [Test]
    public Task ServesARerankerAloneFromTheFlagOverTheEnvironment() =>
        WhileServing(
            ["--reranker", RerankerGoldenTests.Folder("bert-reranker-tiny"), "--port", "0"],
            new() { ["RERANKER_ID"] = Path.Combine(Path.GetTempPath(), "no-such-reranker") },
            async http =>
            {
                var pairs = RerankerGoldenTests.ReadPairs("bert-reranker-tiny");
                using var ranked = await http.PostAsync("/rerank", Bge.Tests.Server.ServerTests.Json(new { query = pairs[0].Query, texts = new[] { pairs[0].Passage }, raw_scores = true }));
                var body = await ranked.Content.ReadAsStringAsync();
                Assert.That(ranked.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
                Assert.That(JsonDocument.Parse(body).RootElement[0].GetProperty("score").GetSingle(), Is.EqualTo(pairs[0].Logit).Within(1e-4));
                using var embed = await http.PostAsync("/embed", Bge.Tests.Server.ServerTests.Json(new { inputs = "x" }));
                Assert.That((int)embed.StatusCode, Is.EqualTo(404));
            });

    /// <summary><c>--calibration FILE</c> (as <c>bge embed</c> writes embeddings) sets the ranges of /v2/embed's int8 answers.</summary>
    [Test]
    public async Task TheCalibrationFileSetsTheInt8RangesOfCoheresEmbed()
    {
        var directory = Directory.CreateTempSubdirectory("bge-serve-calibration-").FullName;
        try
        {
            var embedder = Bge.Core.Embedder.Load(TestPaths.Arctic);
            var calibration = embedder.EncodeCorpus(Bge.Tests.Server.ServerTests.StsSentences(16));
            var file = Path.Combine(directory, "calibration.jsonl");
            File.WriteAllLines(file, Enumerable.Range(0, calibration.Rows).Select(i => JsonSerializer.Serialize(calibration.RowArray(i))));
            string[] texts = ["a cat on a mat", "stocks fell sharply"];
            await WhileServing(["--model", TestPaths.Arctic, "--port", "0", "--calibration", file], [], async http =>
            {
                using var response = await http.PostAsync("/v2/embed", Bge.Tests.Server.ServerTests.Json(new { texts, input_type = "search_document", embedding_types = new[] { "int8" } }));
                var body = await response.Content.ReadAsStringAsync();
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
                var served = JsonDocument.Parse(body).RootElement.GetProperty("embeddings").GetProperty("int8").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
                var expected = EmbeddingQuantizer.Quantize(embedder.EncodeCorpus(texts), VectorQuantization.Int8, QuantizationRanges.From(calibration));
                Assert.That(served, Has.Length.EqualTo(texts.Length));
                for (var i = 0; i < texts.Length; i++)
                {
                    Assert.That(served[i], Is.EqualTo(expected.RowValues(i)));
                }
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void ACalibrationFileOfAnotherWidthStopsTheServerNamingBothWidths()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["[0.5, -0.5, 0.25, 0]", "[0.1, 0.2, 0.3, 0.4]"]);
            Assert.That(Refused(["--model", TestPaths.Arctic, "--port", "0", "--calibration", file], []), Does.Contain("have 4 dimensions").And.Contain("gives 384"));
            File.WriteAllLines(file, ["[0.5, -0.5, 0.25, 0]", "[0.1, 0.2]"]);
            Assert.That(Refused(["--model", TestPaths.Arctic, "--port", "0", "--calibration", file], []), Does.Contain(":2: a calibration embedding of 2 dimensions; the first has 4"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void AnEmbeddingModelGivenAsTheRerankerStopsTheServerNamingWhy()
    {
        var printed = Refused(["--port", "0"], new() { ["RERANKER_ID"] = Path.Combine(XlmRobertaGoldenTests.ModelsFolder, "xlmr-m3-tiny") });
        Assert.That(printed, Does.Contain("the reranker failed to load").And.Contain("is an embedding model").And.Contain("ForSequenceClassification"));
    }
}
