using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Search;

namespace Bge.Cli.Commands;

/// <summary><c>bge search</c>: semantic search over a file of texts, with the index kept in a file between runs.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var corpus = new Option<string>("--corpus") { Description = "The documents, one per line.", Required = true };
        var indexFile = new Option<string?>("--index") { Description = "Keep the index in this file: reused when it matches the model and the corpus; lines appended to the corpus are added to it." };
        var query = new Option<string>("--query", "-q") { Description = "The search query (encoded with the model's retrieval instruction).", Required = true };
        var topK = new Option<int>("--top-k", "-k") { Description = "How many results.", DefaultValueFactory = _ => 5 };
        var precision = CommonOptions.Precision();
        var command = new Command("search", "Rank the lines of a corpus file by semantic similarity to a query.") { model, corpus, indexFile, query, topK, precision };
        command.SetAction(parse =>
        {
            if (parse.GetValue(topK) < 1)
            {
                Console.Error.WriteLine("bge search: --top-k must be at least 1");
                return 1;
            }

            var embedder = Embedder.Load(ModelResolver.Create().Resolve(parse.GetValue(model)), new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) });
            var documents = File.ReadLines(parse.GetValue(corpus)!).Where(l => l.Trim().Length > 0).ToList();
            var index = Build(embedder, documents, parse.GetValue(indexFile));
            var hits = index.Search(embedder, parse.GetValue(query)!, parse.GetValue(topK));
            for (var rank = 0; rank < hits.Count; rank++)
            {
                var hit = hits[rank];
                Console.WriteLine($"{rank + 1,3}. {hit.Score.ToString("F4", CultureInfo.InvariantCulture)}  {JsonSerializer.Serialize(hit.Text, CliJsonContext.Default.String)}");
            }

            return 0;
        });
        return command;
    }

    // Reuses a saved index whose documents are the corpus's first lines (adding the rest); otherwise builds anew.
    private static EmbeddingIndex Build(Embedder embedder, List<string> documents, string? path)
    {
        EmbeddingIndex? index = null;
        if (path is not null && File.Exists(path))
        {
            var saved = EmbeddingIndex.Load(path, embedder);
            if (saved.Count <= documents.Count && saved.Texts.SequenceEqual(documents.Take(saved.Count), StringComparer.Ordinal))
            {
                index = saved;
            }
            else
            {
                Console.Error.WriteLine($"{path} was built from a different corpus; rebuilding it");
            }
        }

        index ??= new EmbeddingIndex(embedder.Name, embedder.Dimension, embedder.TrainedPooling);
        var added = documents.Count - index.Count;
        if (added > 0)
        {
            index.Add(embedder, documents.Skip(index.Count).ToList(), ConsoleProgress.ForTerminal("indexing"));
            if (path is not null)
            {
                index.Save(path);
            }
        }

        return index;
    }
}
