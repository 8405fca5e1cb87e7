using System.Text.Json;
using Bge.Core;
using Bge.Tokenizer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bge.Benchmarks;

/// <summary>
/// What a user would otherwise write: a minimal ASP.NET Core host with ONNX Runtime, one <c>Run</c> per request
/// (the request's texts padded to its longest), CLS pooling and L2 as FlagEmbedding does, answering TEI's
/// <c>POST /embed</c> shape. The load script aims the same load at it and at <c>bge serve</c>.
/// </summary>
internal static class OrtServe
{
    public static int Run(int port, int threads)
    {
        const string model = "snowflake-arctic-embed-xs";
        var tokenizer = Embedder.Load(BenchModels.Directory(model)).Tokenizer;
        using var ort = new OrtEncoder(BenchModels.Onnx(model), threads);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapPost("/embed", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var inputs = document.RootElement.GetProperty("inputs");
            var texts = inputs.ValueKind == JsonValueKind.String ? [inputs.GetString()!] : inputs.EnumerateArray().Select(t => t.GetString()!).ToArray();
            var vectors = ort.EmbedLikeFlagEmbedding(texts, tokenizer, 384);
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, vectors);
        });
        Console.WriteLine($"ort-serve: listening on http://127.0.0.1:{port}/");
        app.Run();
        return 0;
    }

    /// <summary>The in-process reference: <see cref="Embedder.Encode(IReadOnlyList{string}, EncodeOptions?, IProgress{EncodeProgress}?, CancellationToken)"/> of 32 copies of a text per call, texts per second.</summary>
    public static int Baseline(string text, double seconds)
    {
        var embedder = Embedder.Load(BenchModels.Directory("snowflake-arctic-embed-xs"));
        var texts = Enumerable.Repeat(text, 32).ToList();
        embedder.Encode(texts);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var calls = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            embedder.Encode(texts);
            calls++;
        }

        Console.WriteLine(System.FormattableString.Invariant($"in-process Embedder.Encode, 32 texts per call: {calls * 32 / clock.Elapsed.TotalSeconds:F0} texts/s"));
        return 0;
    }
}
