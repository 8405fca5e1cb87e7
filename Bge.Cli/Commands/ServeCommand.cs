using System.CommandLine;
using System.Globalization;
using Bge.Core;
using Bge.Server;

namespace Bge.Cli.Commands;

/// <summary>
/// <c>bge serve</c>: the embedding server (<see cref="EmbeddingServer"/>) on one embedding model, one cross-encoder
/// (<c>--reranker</c>) or both. Every flag can also come from an environment variable (TEI's names: MODEL_ID,
/// RERANKER_ID, PORT, MAX_BATCH_TOKENS, …; BGE_HOST rather than HOSTNAME, which containers set to their own name),
/// the flag winning over the variable. With <c>--reranker</c> and no <c>--model</c> (nor MODEL_ID) only the rerank
/// routes are served; with neither, the default embedding model.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MODEL_ID");
        var reranker = Flag<string?>("--reranker", "RERANKER_ID", null, "A cross-encoder's model directory (or Hub id in the cache), e.g. BAAI/bge-reranker-base: serve TEI's /rerank and /v1/rerank. Without --model, only reranking is served.");
        var precision = CommonOptions.Precision();
        precision.DefaultValueFactory = _ => Environment.GetEnvironmentVariable("BGE_PRECISION");
        var defaults = new ServerOptions();
        var host = Flag("--host", "BGE_HOST", defaults.Host, "Address to listen on (an IP address or localhost).");
        var port = Flag("--port", "PORT", defaults.Port, "TCP port (0: any free port).");
        var maxBatchTokens = Flag("--max-batch-tokens", "MAX_BATCH_TOKENS", defaults.MaxBatchTokens, "Tokens in one forward pass at most; concurrent requests are packed together up to it.");
        var maxClientBatch = Flag("--max-client-batch-size", "MAX_CLIENT_BATCH_SIZE", defaults.MaxClientBatchSize, "Inputs in one request at most (more: 422).");
        var maxConcurrent = Flag("--max-concurrent-requests", "MAX_CONCURRENT_REQUESTS", defaults.MaxConcurrentRequests, "Inputs in flight at most over all requests (more: 429 with Retry-After).");
        var autoTruncate = Flag("--auto-truncate", "AUTO_TRUNCATE", false, "Truncate inputs longer than the model takes instead of refusing them with 422.");
        var apiKey = Flag<string?>("--api-key", "API_KEY", null, "Require 'Authorization: Bearer <key>' on every route but /health, /ready and /metrics.");
        var payloadLimit = Flag("--payload-limit", "PAYLOAD_LIMIT", defaults.PayloadLimit, "Request body bytes at most (more: 413).");
        var calibration = Flag<string?>(
            "--calibration",
            "BGE_CALIBRATION",
            null,
            "Calibration embeddings for /v2/embed's int8 and uint8 types: this model's embeddings at its full width, one JSON array per line as bge embed writes them; "
                + "their per-dimension [min, max] set the steps (cut and re-normalized for a request's output_dimension). Without it int8 and uint8 are refused.");
        var command = new Command("serve", "Serve embeddings over HTTP: OpenAI's /v1/embeddings, Cohere's /v2/embed and TEI's /embed, /similarity, /tokenize, /info; with --reranker, TEI's /rerank and Cohere's /v1/rerank; /health, /ready, /metrics.")
        {
            model, reranker, precision, host, port, maxBatchTokens, maxClientBatch, maxConcurrent, autoTruncate, apiKey, payloadLimit, calibration,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var name = parse.GetValue(model);
            var rerankerName = parse.GetValue(reranker);
            var calibrationFile = parse.GetValue(calibration);
            if (calibrationFile is not null && name is null && rerankerName is not null)
            {
                await Console.Error.WriteLineAsync("bge serve: --calibration needs an embedding model (--model): it sets /v2/embed's int8 and uint8 steps");
                return 1;
            }

            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                MaxBatchTokens = parse.GetValue(maxBatchTokens),
                MaxClientBatchSize = parse.GetValue(maxClientBatch),
                MaxConcurrentRequests = parse.GetValue(maxConcurrent),
                AutoTruncate = parse.GetValue(autoTruncate),
                ApiKey = parse.GetValue(apiKey),
                PayloadLimit = parse.GetValue(payloadLimit),
                Calibration = calibrationFile is null ? null : Calibration.ReadEmbeddings(calibrationFile),
            };
            var embedderOptions = new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) };
            Func<Embedder>? loadEmbedder = name is null && rerankerName is not null ? null : () => Embedder.Load(ModelResolver.Create().Resolve(name), embedderOptions);
            Func<Reranker>? loadReranker = rerankerName is null ? null : () => Reranker.Load(ModelResolver.Create().Resolve(rerankerName), embedderOptions);
            var models = loadEmbedder is null ? "the reranker" : loadReranker is null ? "the model" : "the models";
            await using var server = await EmbeddingServer.StartAsync(loadEmbedder, loadReranker, options, cancellationToken);
            Console.WriteLine($"bge serve: listening on {server.Address} (loading {models}; /ready answers 200 once warm)");
            try
            {
                await server.Loaded;
                Console.WriteLine("bge serve: ready");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"bge serve: {(models == "the models" ? "a model" : models)} failed to load: {e.Message}");
                return 1;
            }

            await server.WaitForShutdownAsync(cancellationToken);
            Console.WriteLine("bge serve: stopped");
            return 0;
        });
        return command;
    }

    // An option whose default is read from an environment variable, then from the server's own default.
    private static Option<T> Flag<T>(string name, string variable, T fallback, string description) => new(name)
    {
        Description = $"{description} Env: {variable}.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text ? Parse<T>(text, name, variable) : fallback,
    };

    private static T Parse<T>(string text, string name, string variable)
    {
        object? value = typeof(T) == typeof(int) ? int.TryParse(text, CultureInfo.InvariantCulture, out var i) ? i : null
            : typeof(T) == typeof(long) ? long.TryParse(text, CultureInfo.InvariantCulture, out var l) ? l : null
            : typeof(T) == typeof(bool) ? bool.TryParse(text, out var b) ? b : text is "1" ? true : text is "0" ? false : null
            : text;
        return value is T typed ? typed : throw new ArgumentException($"{variable}='{text}' is not a valid value for {name}");
    }
}
