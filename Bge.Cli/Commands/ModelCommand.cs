using System.CommandLine;
using Bge.Weights;
using Bge.Weights.Hub;
using Bge.Weights.Onnx;
using Bge.Weights.Provisioning;

namespace Bge.Cli.Commands;

/// <summary><c>bge model list</c>, <c>pull</c>, <c>import-onnx</c> and <c>quantize</c>.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var command = new Command("model", "List, provision and import models.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(ImportOnnx());
        command.Subcommands.Add(Pull());
        command.Subcommands.Add(Quantize());
        return command;
    }

    private static Command Quantize()
    {
        var model = CommonOptions.Model();
        var precision = new Option<string>("--precision") { Description = "int8 (per-channel symmetric, with scales) or bf16.", Required = true };
        precision.AcceptOnlyFromAmong("int8", "bf16");
        var output = new Option<DirectoryInfo>("--out") { Description = "The model directory to write.", Required = true };
        var command = new Command("quantize", "Write a copy of a model whose encoder Linear weights are stored as int8 or bf16; it loads at that precision.") { model, precision, output };
        command.SetAction(parse =>
        {
            var source = ModelDirectory.Open(ModelResolver.Create().Resolve(parse.GetValue(model)));
            var directory = parse.GetValue(output)!.FullName;
            Bge.Core.ModelQuantizer.Write(source, directory, Bge.Core.Precisions.Parse(parse.GetValue(precision)!));
            var (before, after) = (source.WeightFiles.Sum(f => new FileInfo(f).Length), new FileInfo(Path.Combine(directory, "model.safetensors")).Length);
            Console.WriteLine($"{source.Name} → {directory}: weights {before / 1e6:F1} MB → {after / 1e6:F1} MB ({parse.GetValue(precision)})");
            return 0;
        });
        return command;
    }

    private static Command Pull()
    {
        var repo = new Argument<string>("model") { Description = "A Hub model id, e.g. BAAI/bge-base-en-v1.5." };
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit.", DefaultValueFactory = _ => "main" };
        var command = new Command("pull", "Download a model from the Hugging Face Hub into the Hub cache (HF_ENDPOINT, HF_TOKEN, HF_HOME honoured).") { repo, revision };
        command.SetAction((parse, cancellationToken) => PullAsync(parse.GetValue(repo)!, parse.GetValue(revision)!, cancellationToken));
        return command;
    }

    private static async Task<int> PullAsync(string repo, string revision, CancellationToken cancellationToken)
    {
        using var client = new HubClient(HubSettings.FromEnvironment());
        var snapshot = await client.PullAsync(repo, revision, DownloadProgress.ForTerminal(), cancellationToken);
        var model = ModelDirectory.Open(snapshot);
        Console.WriteLine($"{repo}: {model.Config.NumHiddenLayers} layers, hidden {model.Config.HiddenSize}, {model.Pooling.ToString().ToLowerInvariant()} pooling");
        Console.WriteLine(snapshot);
        return 0;
    }

    private static Command List()
    {
        var list = new Command("list", "List the known models: name, layers, hidden size, pooling, file size (provisioning any missing one).");
        var noProvision = new Option<bool>("--no-provision") { Description = "Only list, without provisioning missing models." };
        var known = new Option<bool>("--known") { Description = "List the Hub models that can be pulled (bge model pull), and whether each is in the Hub cache." };
        list.Options.Add(noProvision);
        list.Options.Add(known);
        list.SetAction(parse =>
        {
            if (parse.GetValue(known))
            {
                var cache = new HubCache(HubSettings.FromEnvironment().CacheDirectory);
                Console.WriteLine($"{"model",-24} {"dim",5} {"layers",6} {"pooling",7}  {"cached",-6}  query instruction");
                foreach (var m in KnownModels.All)
                {
                    var cached = cache.FindSnapshot(m.RepoId) is null ? "no" : "yes";
                    Console.WriteLine($"{m.RepoId,-24} {m.Dimension,5} {m.Layers,6} {m.Pooling.ToString().ToLowerInvariant(),7}  {cached,-6}  \"{m.QueryInstruction}\"");
                }

                return 0;
            }

            var resolver = ModelResolver.Create();
            Console.WriteLine($"{"name",-28} {"layers",6} {"hidden",6} {"pooling",7} {"size",10}  path");
            foreach (var recipe in resolver.Recipes.Models)
            {
                if (!resolver.Store.IsProvisioned(recipe) && parse.GetValue(noProvision))
                {
                    Console.WriteLine($"{recipe.Name,-28} {"-",6} {"-",6} {recipe.Pooling.ToString().ToLowerInvariant(),7} {"-",10}  (not provisioned)");
                    continue;
                }

                Print(recipe.Name + (recipe.Name == resolver.Recipes.Default ? " *" : ""), resolver.Provision(recipe));
            }

            return 0;
        });
        return list;
    }

    private static void Print(string name, string directory)
    {
        var model = ModelDirectory.Open(directory);
        var size = model.WeightFiles.Sum(f => (new FileInfo(f).ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? new FileInfo(f)).Length);
        Console.WriteLine($"{name,-28} {model.Config.NumHiddenLayers,6} {model.Config.HiddenSize,6} {model.Pooling.ToString().ToLowerInvariant(),7} {size / 1e6,7:F1} MB  {directory}");
    }

    private static Command ImportOnnx()
    {
        var command = new Command("import-onnx", "Import a BERT ONNX export into a Hub-layout model directory.");
        var onnx = new Argument<FileInfo>("model.onnx") { Description = "The ONNX file." };
        var vocab = new Option<FileInfo>("--vocab") { Description = "The vocab.txt to go with it.", Required = true };
        var pooling = new Option<string>("--pooling") { Description = "The pooling the model was trained with: cls or mean.", Required = true };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var output = new Option<DirectoryInfo>("--out") { Description = "The model directory to write.", Required = true };
        var heads = new Option<int?>("--num-heads") { Description = "Attention heads (inferred from the graph when omitted)." };
        var instruction = new Option<string?>("--query-instruction") { Description = "Instruction prepended to retrieval queries." };
        command.Arguments.Add(onnx);
        command.Options.Add(vocab);
        command.Options.Add(pooling);
        command.Options.Add(output);
        command.Options.Add(heads);
        command.Options.Add(instruction);
        command.SetAction(parse =>
        {
            var source = parse.GetValue(onnx)!.FullName;
            var imported = OnnxBertImporter.Map(OnnxGraph.Load(source), parse.GetValue(heads));
            var mode = parse.GetValue(pooling) == "mean" ? PoolingMode.Mean : PoolingMode.Cls;
            var directory = parse.GetValue(output)!.FullName;
            var readme = $"# {Path.GetFileName(directory)}\n\nImported by `bge model import-onnx` from {source}.\n";
            ModelDirectoryWriter.Write(directory, imported.Config, imported.Tensors,
                NuGetModelProvisioner.Vocabulary(File.ReadAllBytes(parse.GetValue(vocab)!.FullName)),
                new ModelCard(mode, parse.GetValue(instruction), readme));
            Print(Path.GetFileName(directory), directory);
            return 0;
        });
        return command;
    }
}
