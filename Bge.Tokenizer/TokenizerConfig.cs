using System.Text.Json;

namespace Bge.Tokenizer;

/// <summary>
/// What a model directory's tokenizer_config.json (and special_tokens_map.json) say about tokenization: read once,
/// here, for every tokenizer family.
/// </summary>
internal sealed record TokenizerConfig(int? ModelMaxLength, bool? DoLowerCase, string? PadToken, IReadOnlyList<AddedToken>? AddedTokens, AddedToken? MaskToken)
{
    /// <summary>Larger declared lengths are transformers' "no limit" sentinels (1e30), not limits.</summary>
    private const long LargestRealLength = 1_000_000;

    public static TokenizerConfig Empty { get; } = new(null, null, null, null, null);

    /// <summary>Reads the directory's tokenizer_config.json and special_tokens_map.json; either may be missing.</summary>
    /// <exception cref="TokenizerFormatException">A file is not valid JSON.</exception>
    public static TokenizerConfig Read(string directory)
    {
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var config = JsonFiles.ReadOptional(configPath);
        var map = JsonFiles.ReadOptional(Path.Combine(directory, "special_tokens_map.json"));
        if (config is null && map is null)
        {
            return Empty;
        }

        int? maxLength = config is { } c && c.TryGetProperty("model_max_length", out var m) && m.TryGetInt64(out var declared) && declared is > 2 and <= LargestRealLength
            ? (int)declared : null;
        bool? lower = config is { } l && l.TryGetProperty("do_lower_case", out var dl) && dl.ValueKind is JsonValueKind.True or JsonValueKind.False ? dl.GetBoolean() : null;
        var pad = TokenText(config, "pad_token") ?? TokenText(map, "pad_token");
        List<AddedToken>? added = null;
        try
        {
            if (config is { } a && a.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                added = decoder.EnumerateObject().Select(e => ReadAddedToken(e.Value, int.Parse(e.Name, System.Globalization.CultureInfo.InvariantCulture))).ToList();
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or KeyNotFoundException)
        {
            throw new TokenizerFormatException(configPath, "added_tokens_decoder is malformed: " + e.Message, innerException: e);
        }

        var mask = map is { } mm && mm.TryGetProperty("mask_token", out var mt) && mt.ValueKind == JsonValueKind.Object ? ReadAddedToken(mt, -1) : null;
        return new TokenizerConfig(maxLength, lower, pad, added, mask);
    }

    /// <summary>An added token as tokenizer.json and tokenizer_config.json write one (<c>content</c>, <c>lstrip</c>, …).</summary>
    public static AddedToken ReadAddedToken(JsonElement token, int id)
    {
        bool Flag(string name, bool fallback) => token.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
        return new AddedToken(token.GetProperty("content").GetString() ?? "", id, Flag("special", true), Flag("lstrip", false), Flag("rstrip", false), Flag("single_word", false));
    }

    private static string? TokenText(JsonElement? file, string name)
    {
        if (file is not { } f || !f.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }
}

/// <summary>Reading the tokenizer's JSON files.</summary>
internal static class JsonFiles
{
    /// <summary>The file's root element, or null when it does not exist.</summary>
    /// <exception cref="TokenizerFormatException">The file is not valid JSON.</exception>
    public static JsonElement? ReadOptional(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, "not valid JSON: " + e.Message, innerException: e);
        }
    }
}
