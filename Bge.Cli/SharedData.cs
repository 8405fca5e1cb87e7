using System.Reflection;
using Bge.Weights.Provisioning;

namespace Bge.Cli;

/// <summary>
/// Finds the shared evaluation data (<c>data/stsb/…</c>): under BGE_SHARED if set, else in a <c>shared</c> folder
/// beside the repository this program was built from or one of its ancestors.
/// </summary>
internal static class SharedData
{
    public static string Find(string file)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("BGE_SHARED") is { Length: > 0 } configured)
        {
            candidates.Add(Path.Combine(configured, "data", "stsb", file));
        }

        var root = typeof(SharedData).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "Bge.Root")?.Value;
        for (var dir = root is null ? null : new DirectoryInfo(Path.TrimEndingDirectorySeparator(root)); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "shared", "data", "stsb", file));
        }

        return candidates.FirstOrDefault(File.Exists)
            ?? throw new ModelProvisioningException($"cannot find {file} (looked in {string.Join(", ", candidates)}); pass it with --data or set BGE_SHARED");
    }
}
