using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Bge.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Bge.Server;

/// <summary>The routes: OpenAI's embeddings, Cohere's embed, TEI's embed, embed_sparse, similarity, tokenize, rerank and info, bge-m3's ColBERT vectors (embed_colbert), Cohere's and Jina's rerank, and the open health routes.</summary>
internal static partial class Routes
{
    private static readonly string Version = typeof(Routes).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    public static void Map(IEndpointRouteBuilder app, EmbeddingServer server)
    {
        app.MapPost("/v1/embeddings", context => Handle(context, server, openAi: true, OpenAiEmbeddings));
        app.MapPost("/embeddings", context => Handle(context, server, openAi: true, OpenAiEmbeddings));
        app.MapPost("/v2/embed", context => Handle(context, server, openAi: true, CohereEmbed));
        app.MapPost("/embed", context => Handle(context, server, openAi: false, TeiEmbed));
        app.MapPost("/embed_sparse", context => Handle(context, server, openAi: false, TeiEmbedSparse));
        app.MapPost("/embed_colbert", context => Handle(context, server, openAi: false, EmbedColBert));
        app.MapPost("/similarity", context => Handle(context, server, openAi: false, TeiSimilarity));
        app.MapPost("/tokenize", context => Handle(context, server, openAi: false, TeiTokenize));
        app.MapPost("/rerank", context => Handle(context, server, openAi: false, TeiRerank));
        app.MapPost("/v1/rerank", context => Handle(context, server, openAi: true, CohereRerank));
        app.MapGet("/info", context => Handle(context, server, openAi: false, Info));
        app.MapGet("/health", context => Text(context, 200, "ok"));
        app.MapGet("/ready", context => server.IsReady ? Text(context, 200, "ready") : Text(context, 503, server.Loaded.IsFaulted ? "model failed to load" : "not ready"));
        app.MapGet("/metrics", context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4";
            return context.Response.WriteAsync(server.Metrics.Render(() => server.Queued));
        });
    }

    private static Task Text(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(text);
    }

    // Every counted route: the key, then the handler; a refusal becomes a JSON body in the route's own error shape.
    private static async Task Handle(HttpContext context, EmbeddingServer server, bool openAi, Func<HttpContext, EmbeddingServer, Task> handler)
    {
        server.Metrics.Request();
        try
        {
            // Decided once, as the request arrives: one that was already in flight when stopping began still finishes,
            // however long it takes to read its body.
            if (server.Stopping)
            {
                throw new ApiException(503, "the server is shutting down") { RetryAfter = 1 };
            }

            if (server.Options.ApiKey is { } key && context.Request.Headers.Authorization.ToString() != "Bearer " + key)
            {
                throw new ApiException(401, "a valid API key is required: send 'Authorization: Bearer <key>'", code: "invalid_api_key");
            }

            await handler(context, server).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            server.Metrics.Failure("cancelled");
        }
        catch (ApiException e)
        {
            server.Metrics.Failure(e.Kind);
            await WriteError(context, e, openAi).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            server.Metrics.Failure("server_error");
            await WriteError(context, new ApiException(500, $"internal error: {e.GetType().Name}: {e.Message}"), openAi).ConfigureAwait(false);
        }
    }

    private static async Task WriteError(HttpContext context, ApiException e, bool openAi)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = e.Status;
        if (e.RetryAfter is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        await Json(context, w =>
        {
            if (openAi)
            {
                // OpenAI's shape: {"error": {"message", "type", "param", "code"}}
                w.WriteStartObject("error");
                w.WriteString("message", e.Message);
                w.WriteString("type", e.Kind);
                WriteOptional(w, "param", e.Param);
                WriteOptional(w, "code", e.Code);
                w.WriteEndObject();
            }
            else
            {
                // TEI's shape: {"error", "error_type"}
                w.WriteString("error", e.Message);
                w.WriteString("error_type", e.Kind);
            }
        }).ConfigureAwait(false);
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static async Task Json(HttpContext context, Action<Utf8JsonWriter> body, bool array = false)
    {
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, StreamedJson.Options))
        {
            if (array)
            {
                body(w);
            }
            else
            {
                w.WriteStartObject();
                body(w);
                w.WriteEndObject();
            }
        }

        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    // What every embedding route reads beside its inputs, field by field in this order: truncation, the prompt
    // (promptField), then, where the route has them, normalize and dimensions.
    private static EmbedSettings Settings(JsonElement root, EmbeddingServer server, string promptField, bool readNormalize, bool readDimensions)
    {
        var left = TruncateLeft(root);
        var truncate = RequestJson.Bool(root, "truncate") ?? server.Options.AutoTruncate;
        var query = Query(RequestJson.String(root, promptField), promptField);
        var normalize = !readNormalize || (RequestJson.Bool(root, "normalize") ?? true);
        return new EmbedSettings(truncate, left, query, normalize, readDimensions ? RequestJson.Int(root, "dimensions") : null);
    }

    // TEI's truncation_direction, 'Right' unless told: whether truncation keeps the last tokens.
    private static bool TruncateLeft(JsonElement root)
    {
        var direction = RequestJson.String(root, "truncation_direction") ?? "right";
        return direction.Equals("left", StringComparison.OrdinalIgnoreCase) ? true
            : direction.Equals("right", StringComparison.OrdinalIgnoreCase) ? false
            : throw ApiException.Invalid($"'truncation_direction' is '{direction}'; use 'Left' or 'Right'", "truncation_direction");
    }

    private static void WriteFloats(Utf8JsonWriter w, ReadOnlySpan<float> values)
    {
        foreach (var value in values)
        {
            w.WriteNumberValue(value);
        }
    }

    private static bool Query(string? name, string field) => name switch
    {
        null or "document" or "passage" => false,
        "query" => true,
        _ => throw ApiException.Invalid($"'{field}' is '{name}'; this server knows 'query' (the model's query instruction) and 'document'", field),
    };

    private static void TimingHeaders<T>(HttpContext context, Computed<T> e, long started)
    {
        var headers = context.Response.Headers;
        static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        headers["x-compute-type"] = "cpu";
        headers["x-compute-tokens"] = e.Tokens.ToString(CultureInfo.InvariantCulture);
        headers["x-total-time"] = Ms(Stopwatch.GetElapsedTime(started));
        headers["x-tokenization-time"] = Ms(e.Tokenization);
        headers["x-queue-time"] = Ms(e.Queue);
        headers["x-inference-time"] = Ms(e.Inference);
    }

    private static Task<Computed<float[]>> Embed(HttpContext context, EmbeddingServer server, List<Input> inputs, EmbedSettings settings, string field, long started) =>
        Counted(context, server, server.Pipeline.Embed(inputs, settings, field, context.RequestAborted), started);

    // A request's work done: its success counted and timed, TEI's timing headers set.
    private static async Task<Computed<T>> Counted<T>(HttpContext context, EmbeddingServer server, Task<Computed<T>> work, long started)
    {
        var computed = await work.ConfigureAwait(false);
        server.Metrics.Success(Stopwatch.GetElapsedTime(started), computed.Tokenization, computed.Queue, computed.Inference, computed.Lengths);
        TimingHeaders(context, computed, started);
        return computed;
    }

    private static async Task OpenAiEmbeddings(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        var inputs = RequestJson.Inputs(root, "input");
        var format = RequestJson.String(root, "encoding_format") ?? "float";
        if (format is not ("float" or "base64"))
        {
            throw ApiException.Invalid($"'encoding_format' is '{format}'; use 'float' or 'base64'", "encoding_format");
        }

        RequestJson.String(root, "model");
        RequestJson.String(root, "user");
        var settings = Settings(root, server, "input_type", readNormalize: false, readDimensions: true);
        var embedded = await Embed(context, server, inputs, settings, "input", started).ConfigureAwait(false);
        var model = server.Options.ModelId ?? server.Pipeline.Embedder.Name;
        await Json(context, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < embedded.Rows.Length; i++)
            {
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (format == "base64")
                {
                    w.WriteBase64String("embedding", LittleEndianBytes(embedded.Rows[i]));
                }
                else
                {
                    w.WriteStartArray("embedding");
                    WriteFloats(w, embedded.Rows[i]);
                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("model", model);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", embedded.Tokens);
            w.WriteNumber("total_tokens", embedded.Tokens);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    // A vector as base64 formats send it, OpenAI's and Cohere's: its little-endian float32 bytes.
    private static ReadOnlySpan<byte> LittleEndianBytes(float[] vector) => MemoryMarshal.AsBytes(LittleEndian(vector).AsSpan());

    private static float[] LittleEndian(float[] vector)
    {
        if (BitConverter.IsLittleEndian)
        {
            return vector;
        }

        var swapped = new float[vector.Length];
        for (var i = 0; i < vector.Length; i++)
        {
            swapped[i] = BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(vector[i])));
        }

        return swapped;
    }

    // TEI's embedding request, read as /embed, /embed_sparse and /embed_colbert share it ('normalize' and 'dimensions'
    // for dense only).
    private static async Task<(List<Input> Inputs, EmbedSettings Settings)> TeiEmbedRequest(HttpContext context, EmbeddingServer server, bool dense)
    {
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        var inputs = RequestJson.Inputs(root, "inputs");
        return (inputs, Settings(root, server, "prompt_name", readNormalize: dense, readDimensions: dense));
    }

    private static async Task TeiEmbed(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        var (inputs, settings) = await TeiEmbedRequest(context, server, dense: true).ConfigureAwait(false);
        var embedded = await Embed(context, server, inputs, settings, "inputs", started).ConfigureAwait(false);
        await Json(context, w =>
        {
            w.WriteStartArray();
            foreach (var vector in embedded.Rows)
            {
                w.WriteStartArray();
                WriteFloats(w, vector);
                w.WriteEndArray();
            }

            w.WriteEndArray();
        }, array: true).ConfigureAwait(false);
    }

    // TEI's /embed_sparse: {"inputs", "truncate", "truncation_direction", "prompt_name"} → one list per input of
    // {"index": token id, "value": weight}, ids ascending (bge-m3's lexical weights; 424 for a model without the head).
    private static async Task TeiEmbedSparse(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        var (inputs, settings) = await TeiEmbedRequest(context, server, dense: false).ConfigureAwait(false);
        var sparse = await Counted(context, server, server.Pipeline.EmbedSparse(inputs, settings, "inputs", context.RequestAborted), started).ConfigureAwait(false);
        await StreamedJson.Write(context, async json =>
        {
            var w = json.Writer;
            w.WriteStartArray();
            foreach (var vector in sparse.Rows)
            {
                w.WriteStartArray();
                for (var k = 0; k < vector.Count; k++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", vector.Ids[k]);
                    w.WriteNumber("value", vector.Weights[k]);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                await json.Send().ConfigureAwait(false);
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    // /embed_colbert, beside TEI's routes: TEI's embed request read as /embed_sparse reads it → bge-m3's ColBERT
    // vectors, [[[f32 × hidden] × (tokens − 1)] × inputs] (424 for a model without the head), sent as they are
    // written: one 8,192-token input of bge-m3 is about 100 MB of JSON.
    private static async Task EmbedColBert(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        var (inputs, settings) = await TeiEmbedRequest(context, server, dense: false).ConfigureAwait(false);
        var vectors = await Counted(context, server, server.Pipeline.EmbedColBert(inputs, settings, "inputs", context.RequestAborted), started).ConfigureAwait(false);
        await StreamedJson.Write(context, json => WriteMultiVectors(json, vectors.Rows)).ConfigureAwait(false);
    }

    /// <summary>One array per input holding one array per vector, sent every <see cref="StreamedJson.FlushBytes"/> or so.</summary>
    internal static async Task WriteMultiVectors(StreamedJson json, IReadOnlyList<MultiVector> inputs)
    {
        var w = json.Writer;
        w.WriteStartArray();
        foreach (var vectors in inputs)
        {
            w.WriteStartArray();
            for (var r = 0; r < vectors.Count; r++)
            {
                w.WriteStartArray();
                WriteFloats(w, vectors.Row(r));
                w.WriteEndArray();
                await json.Send().ConfigureAwait(false);
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    private static async Task TeiSimilarity(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        if (!root.TryGetProperty("inputs", out var pair) || pair.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("'inputs' must be an object {\"source_sentence\": …, \"sentences\": […]}", "inputs");
        }

        var source = RequestJson.RequiredString(pair, "source_sentence", "inputs.source_sentence");
        var sentences = RequestJson.Inputs(pair, "sentences");
        if (sentences.Any(s => s.Text is null))
        {
            throw ApiException.BadRequest("'inputs.sentences' must be an array of strings", "inputs.sentences");
        }

        var settings = Settings(root, server, "prompt_name", readNormalize: false, readDimensions: false);
        var embedded = await Embed(context, server, [new Input(source, null), .. sentences], settings, "inputs.sentences", started).ConfigureAwait(false);
        await Json(context, w =>
        {
            w.WriteStartArray();
            for (var i = 1; i < embedded.Rows.Length; i++)
            {
                w.WriteNumberValue(System.Numerics.Tensors.TensorPrimitives.Dot(embedded.Rows[0], embedded.Rows[i]));
            }

            w.WriteEndArray();
        }, array: true).ConfigureAwait(false);
    }

    private static async Task TeiTokenize(HttpContext context, EmbeddingServer server)
    {
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        var inputs = RequestJson.Inputs(root, "inputs");
        if (inputs.Any(i => i.Text is null))
        {
            throw ApiException.BadRequest("'inputs' must be a string or an array of strings", "inputs");
        }

        var specials = RequestJson.Bool(root, "add_special_tokens") ?? true;
        var pipeline = server.Pipeline;
        var settings = Settings(root, server, "prompt_name", readNormalize: false, readDimensions: false);
        server.Admission.CheckBatchSize(inputs.Count, "inputs");

        var encodings = inputs.Select((input, i) => (pipeline.Tokenize(input, settings, inputs.Count == 1 ? "inputs" : $"inputs[{i}]"), Text: settings.Query ? pipeline.Embedder.QueryInstruction + input.Text : input.Text!)).ToList();
        var tokenizer = pipeline.Embedder.Tokenizer;
        await Json(context, w =>
        {
            w.WriteStartArray();
            foreach (var (encoding, text) in encodings)
            {
                w.WriteStartArray();
                for (var t = 0; t < encoding.Length; t++)
                {
                    var special = encoding.SpecialTokensMask[t];
                    if (special && !specials)
                    {
                        continue;
                    }

                    var (start, end) = encoding.Offsets[t];
                    w.WriteStartObject();
                    w.WriteNumber("id", encoding.Ids[t]);
                    w.WriteString("text", special ? tokenizer.IdToToken(encoding.Ids[t]) : text[start..end]);
                    w.WriteBoolean("special", special);
                    w.WriteNumber("start", special ? 0 : start);
                    w.WriteNumber("stop", special ? 0 : end);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
        }, array: true).ConfigureAwait(false);
    }

    // TEI's /rerank: {"query", "texts", "raw_scores", "return_text", "truncate", "truncation_direction"} →
    // [{"index", "score"[, "text"]}], most relevant first.
    private static async Task TeiRerank(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        var query = RequestJson.RequiredString(root, "query");
        var texts = RequestJson.Texts(root, "texts", objects: false);
        var rawScores = RequestJson.Bool(root, "raw_scores") ?? false;
        var returnText = RequestJson.Bool(root, "return_text") ?? false;
        var (logits, order, _) = await Rerank(context, server, root, query, texts, "texts", started).ConfigureAwait(false);
        await Json(context, w =>
        {
            w.WriteStartArray();
            foreach (var i in order)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                if (returnText)
                {
                    w.WriteString("text", texts[i]);
                }

                w.WriteNumber("score", rawScores ? logits[i] : Reranker.Sigmoid(logits[i]));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }, array: true).ConfigureAwait(false);
    }

    // Cohere's and Jina's /v1/rerank: {"model", "query", "documents": [string | {"text"}], "top_n", "return_documents"}
    // → {"model", "results": [{"index", "relevance_score"[, "document": {"text"}]}], "usage": {"total_tokens"}}.
    private static async Task CohereRerank(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        RequestJson.String(root, "model");
        var query = RequestJson.RequiredString(root, "query");
        var documents = RequestJson.Texts(root, "documents", objects: true);
        var topN = RequestJson.Int(root, "top_n");
        if (topN < 1)
        {
            throw ApiException.Invalid($"'top_n' is {topN}; give at least 1", "top_n");
        }

        var returnDocuments = RequestJson.Bool(root, "return_documents") ?? false;
        var (logits, order, tokens) = await Rerank(context, server, root, query, documents, "documents", started).ConfigureAwait(false);
        var model = server.Reranking.Reranker.Name;
        await Json(context, w =>
        {
            w.WriteString("model", model);
            w.WriteStartArray("results");
            foreach (var i in order.Take(topN ?? order.Length))
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteNumber("relevance_score", Reranker.Sigmoid(logits[i]));
                if (returnDocuments)
                {
                    w.WriteStartObject("document");
                    w.WriteString("text", documents[i]);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    // What both rerank routes share: truncation read (longest_first from the right; 'Left' is refused, the tokenizer
    // cuts pairs from the right only), each text scored with the query, the indices ordered by logit, most relevant
    // first, ties in input order (the sigmoid is monotonic, so the order holds for scores too).
    private static async Task<(float[] Logits, int[] Order, int Tokens)> Rerank(HttpContext context, EmbeddingServer server, JsonElement root, string query, List<string> texts, string field, long started)
    {
        if (TruncateLeft(root))
        {
            throw ApiException.Invalid("'truncation_direction' 'Left' is not supported for pairs: this server truncates a pair longest-first from the right, as Hugging Face's tokenizers do by default", "truncation_direction");
        }

        var truncate = RequestJson.Bool(root, "truncate") ?? server.Options.AutoTruncate;
        var computed = await Counted(context, server, server.Reranking.Score(query, texts, truncate, field, context.RequestAborted), started).ConfigureAwait(false);
        var logits = computed.Rows.Select(row => row[0]).ToArray();
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        return (logits, order, computed.Tokens);
    }

    // TEI's /info. The top-level fields describe the embedding model when there is one, else the reranker; model_type
    // holds "embedding" ({"pooling"}), "reranker" ({"id2label", "label2id", "model_id", "model_dtype",
    // "max_input_length"}) or both.
    private static Task Info(HttpContext context, EmbeddingServer server)
    {
        var pipeline = server.ServesEmbeddings ? server.Pipeline : null;
        var reranking = server.ServesReranking ? server.Reranking : null;
        var options = server.Options;
        return Json(context, w =>
        {
            if (pipeline is not null)
            {
                var embedder = pipeline.Embedder;
                w.WriteString("model_id", options.ModelId ?? embedder.Name);
                w.WriteString("model_dtype", Precisions.Name(embedder.Model.Precision));
            }
            else
            {
                w.WriteString("model_id", reranking!.Reranker.Name);
                w.WriteString("model_dtype", Precisions.Name(reranking.Reranker.Model.Precision));
            }

            w.WriteStartObject("model_type");
            if (pipeline is not null)
            {
                w.WriteStartObject("embedding");
                w.WriteString("pooling", pipeline.Embedder.TrainedPooling.ToString().ToLowerInvariant());
                w.WriteEndObject();
            }

            if (reranking is not null)
            {
                var reranker = reranking.Reranker;
                w.WriteStartObject("reranker");
                w.WriteStartObject("id2label");
                for (var i = 0; i < reranker.Labels.Count; i++)
                {
                    w.WriteString(i.ToString(CultureInfo.InvariantCulture), reranker.Labels[i]);
                }

                w.WriteEndObject();
                w.WriteStartObject("label2id");
                for (var i = 0; i < reranker.Labels.Count; i++)
                {
                    w.WriteNumber(reranker.Labels[i], i);
                }

                w.WriteEndObject();
                w.WriteString("model_id", reranker.Name);
                w.WriteString("model_dtype", Precisions.Name(reranker.Model.Precision));
                w.WriteNumber("max_input_length", reranking.MaxInputLength);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            if (pipeline is not null)
            {
                w.WriteNumber("dimension", pipeline.Embedder.Dimension);
            }

            w.WriteNumber("max_input_length", pipeline?.MaxInputLength ?? reranking!.MaxInputLength);
            w.WriteNumber("max_batch_tokens", options.MaxBatchTokens);
            w.WriteNumber("max_client_batch_size", options.MaxClientBatchSize);
            w.WriteNumber("max_concurrent_requests", options.MaxConcurrentRequests);
            w.WriteBoolean("auto_truncate", options.AutoTruncate);
            w.WriteNumber("payload_limit", options.PayloadLimit);
            if (pipeline is not null)
            {
                WriteOptional(w, "query_instruction", pipeline.Embedder.QueryInstruction);
            }

            w.WriteString("version", Version);
        });
    }
}
