using System.Text.Json;

namespace Bge.Weights.SafeTensors;

/// <summary>Parses and validates a safetensors JSON header against the size of the data area.</summary>
internal static class SafeTensorsHeader
{
    public const string MetadataKey = "__metadata__";

    public static (IReadOnlyDictionary<string, TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(
        string path, ReadOnlySpan<byte> header, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new ModelFormatException(path, "header is not valid UTF-8", offset: 8);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, "header is not valid JSON: " + e.Message, offset: 8 + (e.BytePositionInLine ?? 0), innerException: e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(path, "header is not a JSON object", offset: 8);
            }

            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new ModelFormatException(path, "appears twice in the header", property.Name);
                }

                if (property.Name == MetadataKey)
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }

                tensors.Add(property.Name, ReadTensor(path, property.Name, property.Value, dataLength));
            }

            CheckNoOverlap(path, tensors.Values);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> into)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "__metadata__ is not a JSON object of strings");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new ModelFormatException(path, $"__metadata__ entry '{entry.Name}' is not a string");
            }

            into[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorInfo ReadTensor(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "header entry is not a JSON object", name);
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new ModelFormatException(path, "header entry has no dtype string", name);
        }

        var dtypeName = dtypeElement.GetString();
        if (!TensorDTypes.TryParse(dtypeName, out var dtype))
        {
            throw new ModelFormatException(path, $"unknown dtype '{dtypeName}'", name);
        }

        var shape = ReadIntegers(path, name, value, "shape", null);
        var offsets = ReadIntegers(path, name, value, "data_offsets", 2);
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end || end > dataLength)
        {
            throw new ModelFormatException(path, $"data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data area", name);
        }

        // Multiply with an explicit bound so a hostile shape cannot overflow into a plausible size.
        var bytes = (long)dtype.SizeOf();
        foreach (var dimension in shape)
        {
            if (dimension != 0 && bytes > dataLength / dimension)
            {
                throw new ModelFormatException(path, $"shape [{string.Join(", ", shape)}] of {dtype} needs more bytes than the {dataLength}-byte data area holds", name);
            }

            bytes *= dimension;
        }

        if (bytes != end - begin)
        {
            throw new ModelFormatException(path, $"shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets give {end - begin}", name);
        }

        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement value, string key, int? count)
    {
        if (!value.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFormatException(path, $"header entry has no {key} array", name);
        }

        var values = new List<long>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0)
            {
                throw new ModelFormatException(path, $"{key} holds '{item.GetRawText()}', not a non-negative integer", name);
            }

            values.Add(v);
            if (values.Count > 64)
            {
                throw new ModelFormatException(path, $"{key} has more than 64 entries", name);
            }
        }

        if (count is { } expected && values.Count != expected)
        {
            throw new ModelFormatException(path, $"{key} has {values.Count} entries, expected {expected}", name);
        }

        return values.ToArray();
    }

    private static void CheckNoOverlap(string path, IEnumerable<TensorInfo> tensors)
    {
        TensorInfo? previous = null;
        foreach (var tensor in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (previous is not null && tensor.Begin < previous.End)
            {
                throw new ModelFormatException(path, $"data [{tensor.Begin}, {tensor.End}) overlaps tensor '{previous.Name}' [{previous.Begin}, {previous.End})", tensor.Name);
            }

            previous = tensor;
        }
    }
}
