using System.Reflection;
using Bge.Weights.Hub;
using Bge.Weights.Provisioning;

namespace Bge.Cli;

/// <summary>Turns a <c>--model</c> value (a directory, or a provisioned model's name, or nothing) into a model directory.</summary>
internal sealed class ModelResolver
{
    private ModelResolver(ModelStore store) => Store = store;

    public ModelStore Store { get; }

    public string WeightsDirectory => Store.Directory;

    public ModelRecipes Recipes => Store.Recipes;

    /// <summary>
    /// The model store: <c>BGE_WEIGHTS</c> if set; else, for a program run from inside the repository that built it,
    /// that repository's weights/ (what the tests and benchmarks use); else the user's cache (<see cref="ModelStore.DefaultDirectory"/>).
    /// </summary>
    public static ModelResolver Create()
    {
        var directory = Environment.GetEnvironmentVariable("BGE_WEIGHTS") is { Length: > 0 } configured ? configured
            : RepositoryWeights() ?? ModelStore.DefaultDirectory();
        return new ModelResolver(new ModelStore(directory));
    }

    private static string? RepositoryWeights()
    {
        var metadata = typeof(ModelResolver).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToList();
        var root = metadata.FirstOrDefault(a => a.Key == "Bge.Root")?.Value;
        if (root is null || !Directory.Exists(root))
        {
            return null;
        }

        var fullRoot = Path.GetFullPath(root);
        return Path.GetFullPath(AppContext.BaseDirectory).StartsWith(fullRoot, StringComparison.Ordinal) ? Path.Combine(fullRoot, "weights") : null;
    }

    /// <summary>A directory as given, or a known model by name (provisioned on first use), or the default model.</summary>
    public string Resolve(string? model)
    {
        if (model is not null && Directory.Exists(model))
        {
            return model;
        }

        var name = model ?? Recipes.Default;
        if (Recipes.Find(name) is null && name.Contains('/', StringComparison.Ordinal) && !name.StartsWith('.') && !Path.IsPathRooted(name))
        {
            // A Hub id: the snapshot `bge model pull` (or any Hugging Face tool) put in the Hub cache.
            var (repo, revision) = name.Split('@') is [var r, var v] ? (r, v) : (name, "main");
            return new HubCache(HubSettings.FromEnvironment().CacheDirectory).FindSnapshot(repo, revision)
                ?? throw new HubException(HubFailure.NotFound, $"{name} is not in the Hub cache; download it with: bge model pull {repo}" + (revision == "main" ? "" : $" --revision {revision}"));
        }

        var recipe = Recipes.Find(name)
            ?? throw new ModelProvisioningException($"'{name}' is neither a model directory nor a known model ({string.Join(", ", Recipes.Models.Select(m => m.Name))})");
        return Provision(recipe);
    }

    public string Provision(ModelRecipe recipe) =>
        Store.ProvisionAsync(recipe.Name, line => Console.Error.WriteLine(line)).GetAwaiter().GetResult();
}
