using System.Text.Json;

namespace Bge.Server;

/// <summary>One input of an embedding request: a text, or token ids taken as they are (special tokens included).</summary>
internal readonly record struct Input(string? Text, int[]? Ids);

/// <summary>
/// Reading request bodies by hand with <see cref="JsonDocument"/>, so that every refusal names its field: a wrong
/// type is 400, a well-typed but unacceptable value 422 (<see cref="ApiException"/>).
/// </summary>
internal static class RequestJson
{
    /// <summary>The body as JSON: over the payload limit 413, not declared JSON or not well-formed 400, not an object 400.</summary>
    public static async Task<JsonDocument> Read(Microsoft.AspNetCore.Http.HttpRequest request, long limit)
    {
        var type = request.ContentType ?? "";
        if (!type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.BadRequest($"Content-Type must be application/json, not '{type}'");
        }

        if (request.ContentLength > limit)
        {
            throw new ApiException(413, $"the body has {request.ContentLength} bytes; this server takes at most {limit} (--payload-limit)", code: "payload_too_large");
        }

        using var body = new MemoryStream();
        var buffer = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (body.Length + read > limit)
            {
                throw new ApiException(413, $"the body is longer than {limit} bytes, the most this server takes (--payload-limit)", code: "payload_too_large");
            }

            body.Write(buffer, 0, read);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.GetBuffer().AsMemory(0, (int)body.Length), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the body is not valid JSON: {e.Message}");
        }

        var kind = document.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ApiException.BadRequest($"the body must be a JSON object, not {Describe(kind)}");
        }

        return document;
    }

    /// <summary>Inputs from a string, an array of strings, an array of token ids or an array of arrays of token ids.</summary>
    public static List<Input> Inputs(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value))
        {
            throw ApiException.BadRequest($"'{field}' is required", field);
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return [new Input(value.GetString(), null)];
            case JsonValueKind.Array when value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.Number:
                return [new Input(null, Ids(value, field))];
            case JsonValueKind.Array:
                var inputs = new List<Input>(value.GetArrayLength());
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    var name = $"{field}[{i++}]";
                    inputs.Add(item.ValueKind switch
                    {
                        JsonValueKind.String => new Input(item.GetString(), null),
                        JsonValueKind.Array => new Input(null, Ids(item, name)),
                        _ => throw ApiException.BadRequest($"'{name}' must be a string or an array of token ids, not {Describe(item.ValueKind)}", name),
                    });
                }

                return inputs;
            default:
                throw ApiException.BadRequest($"'{field}' must be a string, an array of strings or token ids, not {Describe(value.ValueKind)}", field);
        }
    }

    private static int[] Ids(JsonElement array, string field)
    {
        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]))
            {
                throw ApiException.BadRequest($"'{field}[{i}]' must be an integer token id, not {(item.ValueKind == JsonValueKind.Number ? item.GetRawText() : Describe(item.ValueKind))}", field);
            }

            i++;
        }

        return ids;
    }

    public static string? String(JsonElement root, string field) =>
        !root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw ApiException.BadRequest($"'{field}' must be a string, not {Describe(value.ValueKind)}", field);

    /// <summary>A string field that must be there (an empty string is a string).</summary>
    public static string RequiredString(JsonElement root, string field, string? name = null) =>
        String(root, field) ?? throw ApiException.BadRequest($"'{name ?? field}' is required", name ?? field);

    /// <summary>An array of strings; with <paramref name="objects"/>, items may also be <c>{"text": …}</c> objects (Cohere's and Jina's documents).</summary>
    public static List<string> Texts(JsonElement root, string field, bool objects)
    {
        var shape = objects ? "an array of strings or {\"text\": …} objects" : "an array of strings";
        if (!root.TryGetProperty(field, out var value))
        {
            throw ApiException.BadRequest($"'{field}' is required", field);
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest($"'{field}' must be {shape}, not {Describe(value.ValueKind)}", field);
        }

        var texts = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            var name = $"{field}[{texts.Count}]";
            texts.Add(item.ValueKind switch
            {
                JsonValueKind.String => item.GetString()!,
                JsonValueKind.Object when objects => RequiredString(item, "text", name + ".text"),
                _ => throw ApiException.BadRequest($"'{name}' must be {(objects ? "a string or a {\"text\": …} object" : "a string")}, not {Describe(item.ValueKind)}", name),
            });
        }

        return texts;
    }

    public static bool? Bool(JsonElement root, string field) =>
        !root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw ApiException.BadRequest($"'{field}' must be true or false, not {Describe(value.ValueKind)}", field);

    public static int? Int(JsonElement root, string field) =>
        !root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number
        : throw ApiException.BadRequest($"'{field}' must be an integer, not {(value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Describe(value.ValueKind))}", field);

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
