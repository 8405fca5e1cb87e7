using System.Diagnostics;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Compression;
using Microsoft.AspNetCore.Http;

namespace Bge.Server;

/// <summary>Cohere's Embed API v2, <c>POST /v2/embed</c>.</summary>
internal static partial class Routes
{
    // Cohere's embedding_types, in the order its reference lists them.
    private static readonly string[] CohereTypes = ["float", "int8", "uint8", "binary", "ubinary", "base64"];

    private const string CohereTypeList = "'float', 'int8', 'uint8', 'binary', 'ubinary' or 'base64'";

    private const string CohereInputTypes = "'search_document', 'search_query' (the model's query instruction), 'classification' or 'clustering'";

    // {"model", "texts" | "inputs", "input_type", "embedding_types", "output_dimension", "truncate"} →
    // {"id", "embeddings": {"<type>": [one per text], …}, "texts", "meta": {"api_version", "billed_units"},
    // "response_type": "embeddings_by_type"}, the types in the order asked. The integer types are sentence-transformers'
    // quantize_embeddings of the float vectors (int8/uint8 against the server's calibration ranges); base64 is the
    // float vectors' little-endian float32 bytes, as OpenAI's base64 here.
    private static async Task CohereEmbed(HttpContext context, EmbeddingServer server)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await RequestJson.Read(context.Request, server.Options.PayloadLimit).ConfigureAwait(false);
        var root = document.RootElement;
        RequestJson.String(root, "model");
        var (texts, field) = CohereTexts(root);
        var query = CohereQuery(root);
        var types = CohereEmbeddingTypes(root);
        var dimensions = RequestJson.Int(root, "output_dimension");
        var (truncate, left) = CohereTruncate(root);
        if (root.TryGetProperty("max_tokens", out var maxTokens) && maxTokens.ValueKind != JsonValueKind.Null)
        {
            throw ApiException.Invalid("'max_tokens' is not supported: this server cuts a text only at the model's limit ('truncate')", "max_tokens");
        }

        var pipeline = server.Pipeline;
        if (types.FirstOrDefault(t => t is "int8" or "uint8") is { } calibrated && pipeline.Calibration is null)
        {
            throw ApiException.BadRequest($"'embedding_types' asks for {calibrated}, which needs calibration ranges this server was not started with: start it with --calibration FILE (embeddings of this model, one JSON array per line as bge embed writes them)", "embedding_types");
        }

        // Cohere's search_query is every model's query: the instruction where the model has one, as EncodeQueries does.
        var settings = new EmbedSettings(truncate, left, query && pipeline.Embedder.QueryInstruction is not null, Normalize: true, dimensions)
        {
            DimensionsField = "output_dimension",
            TruncationAdvice = "'truncate': 'END' or 'START'",
            IndexEveryInput = true,
        };
        var embedded = await Embed(context, server, [.. texts.Select(t => new Input(t, null))], settings, field, started).ConfigureAwait(false);
        var width = embedded.Rows[0].Length;
        var floats = new EmbeddingMatrix([.. embedded.Rows.SelectMany(row => row)], embedded.Rows.Length, width);
        var codes = types.Select(type => QuantizationForm(type) is { } form
            ? EmbeddingQuantizer.Quantize(floats, form, form is VectorQuantization.Int8 or VectorQuantization.UInt8 ? pipeline.Calibration!.For(width) : null)
            : null).ToList();
        await Json(context, w =>
        {
            w.WriteString("id", Guid.NewGuid().ToString());
            w.WriteStartObject("embeddings");
            for (var t = 0; t < types.Count; t++)
            {
                w.WriteStartArray(types[t]);
                for (var i = 0; i < embedded.Rows.Length; i++)
                {
                    if (codes[t] is { } quantized)
                    {
                        w.WriteStartArray();
                        foreach (var value in quantized.RowValues(i))
                        {
                            w.WriteNumberValue(value);
                        }

                        w.WriteEndArray();
                    }
                    else if (types[t] == "base64")
                    {
                        w.WriteBase64StringValue(LittleEndianBytes(embedded.Rows[i]));
                    }
                    else
                    {
                        w.WriteStartArray();
                        WriteFloats(w, embedded.Rows[i]);
                        w.WriteEndArray();
                    }
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteStartArray("texts");
            foreach (var text in texts)
            {
                w.WriteStringValue(text);
            }

            w.WriteEndArray();
            w.WriteStartObject("meta");
            w.WriteStartObject("api_version");
            w.WriteString("version", "2");
            w.WriteEndObject();
            w.WriteStartObject("billed_units");
            w.WriteNumber("input_tokens", embedded.Tokens);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteString("response_type", "embeddings_by_type");
        }).ConfigureAwait(false);
    }

    private static VectorQuantization? QuantizationForm(string type) => type switch
    {
        "int8" => VectorQuantization.Int8,
        "uint8" => VectorQuantization.UInt8,
        "binary" => VectorQuantization.Binary,
        "ubinary" => VectorQuantization.UBinary,
        _ => null,
    };

    // The texts of 'texts' (strings) or of 'inputs' (Cohere's content lists, one text part each), with the field that
    // names them in refusals. Images, which Cohere's multimodal models take, are refused naming the content type.
    private static (List<string> Texts, string Field) CohereTexts(JsonElement root)
    {
        if (root.TryGetProperty("images", out var images) && images.ValueKind != JsonValueKind.Null)
        {
            throw ApiException.Invalid("'images' is not supported: this server embeds text only", "images");
        }

        var hasTexts = root.TryGetProperty("texts", out var texts) && texts.ValueKind != JsonValueKind.Null;
        var hasInputs = root.TryGetProperty("inputs", out var inputs) && inputs.ValueKind != JsonValueKind.Null;
        if (hasTexts == hasInputs)
        {
            throw ApiException.BadRequest(hasTexts ? "give 'texts' or 'inputs', not both" : "'texts' (or 'inputs') is required", "texts");
        }

        if (hasTexts)
        {
            return (RequestJson.Texts(root, "texts", objects: false), "texts");
        }

        const string shape = "{\"content\": [{\"type\": \"text\", \"text\": …}]}";
        if (inputs.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest($"'inputs' must be an array of {shape} objects, not {RequestJson.Describe(inputs.ValueKind)}", "inputs");
        }

        var list = new List<string>(inputs.GetArrayLength());
        foreach (var input in inputs.EnumerateArray())
        {
            var name = $"inputs[{list.Count}]";
            if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                throw ApiException.BadRequest($"'{name}' must be an object {shape}", name);
            }

            string? text = null;
            var index = 0;
            foreach (var part in content.EnumerateArray())
            {
                var partName = $"{name}.content[{index++}]";
                if (part.ValueKind != JsonValueKind.Object)
                {
                    throw ApiException.BadRequest($"'{partName}' must be an object {{\"type\": \"text\", \"text\": …}}, not {RequestJson.Describe(part.ValueKind)}", partName);
                }

                var type = RequestJson.RequiredString(part, "type", partName + ".type");
                if (type != "text")
                {
                    throw ApiException.Invalid($"'{partName}.type' is '{type}'; this server embeds text only ('text')", partName + ".type");
                }

                text = RequestJson.RequiredString(part, "text", partName + ".text");
            }

            if (index != 1)
            {
                throw ApiException.Invalid($"'{name}.content' holds {index} parts; this server embeds one text part per input (give each text as an input of its own)", name + ".content");
            }

            list.Add(text!);
        }

        return (list, "inputs");
    }

    // Cohere's input_type, required as Cohere requires it of its v3 and later models: whether the texts are queries.
    private static bool CohereQuery(JsonElement root) => RequestJson.String(root, "input_type") switch
    {
        null => throw ApiException.BadRequest($"'input_type' is required: {CohereInputTypes}", "input_type"),
        "search_query" => true,
        "search_document" or "classification" or "clustering" => false,
        var other => throw ApiException.Invalid($"'input_type' is '{other}'; use {CohereInputTypes}{(other == "image" ? " (this server embeds text only)" : "")}", "input_type"),
    };

    // Cohere's embedding_types: ["float"] unless told; each type once, in the order asked.
    private static List<string> CohereEmbeddingTypes(JsonElement root)
    {
        if (!root.TryGetProperty("embedding_types", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return ["float"];
        }

        var names = RequestJson.Texts(root, "embedding_types", objects: false);
        if (names.Count == 0)
        {
            throw ApiException.Invalid($"'embedding_types' is empty; ask for one or more of {CohereTypeList}", "embedding_types");
        }

        foreach (var name in names)
        {
            if (!CohereTypes.Contains(name))
            {
                throw ApiException.Invalid($"'embedding_types' holds '{name}'; use {CohereTypeList}", "embedding_types");
            }
        }

        return [.. names.Distinct()];
    }

    // Cohere's truncate: END (its default) cuts the end, START the start, NONE refuses a text longer than the model takes.
    private static (bool Truncate, bool Left) CohereTruncate(JsonElement root)
    {
        var truncate = RequestJson.String(root, "truncate") ?? "END";
        return truncate.ToUpperInvariant() switch
        {
            "END" => (true, false),
            "START" => (true, true),
            "NONE" => (false, false),
            _ => throw ApiException.Invalid($"'truncate' is '{truncate}'; use 'NONE', 'START' or 'END'", "truncate"),
        };
    }
}
