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
        var corpus = new Option<string?>("--corpus") { Description = "The documents, one per line (not needed with a quantized --index, which holds its texts)." };
        var indexFile = new Option<string?>("--index") { Description = "Keep the index in this file: reused when it matches the model and the corpus; lines appended to the corpus are added to it." };
        var query = new Option<string>("--query", "-q") { Description = "The search query (encoded with the model's retrieval instruction).", Required = true };
        var topK = new Option<int>("--top-k", "-k") { Description = "How many results.", DefaultValueFactory = _ => 5 };
        var precision = CommonOptions.Precision();
        var hybridOptions = new HybridOptions("With a bge-m3-style model: hybrid search over these outputs (dense, sparse, colbert, comma-separated), held in memory: "
            + "dense and sparse fused over every line, the best --candidates rescored with ColBERT.");
        var candidates = new Option<int?>("--candidates") { Description = "With --vectors …colbert: how many first-stage lines ColBERT rescores (default 100)." };
        var rescore = new Option<int?>("--rescore-multiplier")
        {
            Description = "With a quantized --index (bge index build --quantize): rescore the codes' best top-k × M with the float32 vectors (default 4; 0: the codes' order and estimates).",
        };
        var command = new Command("search", "Rank the lines of a corpus file by semantic similarity to a query.") { model, corpus, indexFile, query, topK, precision, candidates, rescore };
        foreach (var option in hybridOptions.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var usage = parse.GetValue(topK) < 1 ? "--top-k must be at least 1"
                : parse.GetValue(candidates) < 1 ? "--candidates must be at least 1"
                : parse.GetValue(candidates) is not null && parse.GetValue(hybridOptions.Vectors) is null ? "--candidates needs --vectors"
                : parse.GetValue(hybridOptions.Vectors) is not null && parse.GetValue(indexFile) is not null ? "--index keeps dense indexes; a --vectors index is built in memory each run"
                : hybridOptions.Misuse(parse);
            if (usage is not null)
            {
                Console.Error.WriteLine("bge search: " + usage);
                return 1;
            }

            var quantized = parse.GetValue(indexFile) is { } path && QuantizedIndex.IsQuantizedIndexFile(path);
            usage = parse.GetValue(rescore) < 0 ? "--rescore-multiplier must be 0 or more"
                : parse.GetValue(rescore) is not null && !quantized ? "--rescore-multiplier needs a quantized --index (bge index build --quantize)"
                : quantized && parse.GetValue(hybridOptions.Vectors) is not null ? "--vectors searches in memory; a quantized --index holds dense codes"
                : parse.GetValue(corpus) is null && !quantized ? "--corpus is required (only a quantized --index holds its own texts)"
                : null;
            if (usage is not null)
            {
                Console.Error.WriteLine("bge search: " + usage);
                return 1;
            }

            var hybrid = hybridOptions.Parse(parse);
            var embedder = Embedder.Load(ModelResolver.Create().Resolve(parse.GetValue(model)), new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) });
            if (quantized)
            {
                using var index = QuantizedIndex.Open(parse.GetValue(indexFile)!, embedder);
                Print([.. index.Search(embedder, parse.GetValue(query)!, parse.GetValue(topK), parse.GetValue(rescore) ?? 4).Select(h => (h.Score, h.Text))]);
                return 0;
            }

            var documents = File.ReadLines(parse.GetValue(corpus)!).Where(l => l.Trim().Length > 0).ToList();
            var hits = hybrid is null
                ? [.. Build(embedder, documents, parse.GetValue(indexFile)).Search(embedder, parse.GetValue(query)!, parse.GetValue(topK)).Select(h => (h.Score, h.Text))]
                : Hybrid(embedder, documents, parse.GetValue(query)!, parse.GetValue(topK), hybrid, parse.GetValue(candidates) ?? 100);
            Print(hits);
            return 0;
        });
        return command;
    }

    private static void Print(List<(float Score, string Text)> hits)
    {
        for (var rank = 0; rank < hits.Count; rank++)
        {
            var (score, text) = hits[rank];
            Console.WriteLine($"{rank + 1,3}. {score.ToString("F4", CultureInfo.InvariantCulture)}  {JsonSerializer.Serialize(text, CliJsonContext.Default.String)}");
        }
    }

    // The lines' outputs in a hybrid index, the query's (with the model's instruction) searched in it.
    private static List<(float Score, string Text)> Hybrid(Embedder embedder, List<string> documents, string query, int topK, HybridChoice hybrid, int candidates)
    {
        var index = new HybridIndex(hybrid.Kinds, hybrid.Storage);
        index.Add(embedder, documents, ConsoleProgress.ForTerminal("indexing"));
        var asked = embedder.EncodeOutputs([embedder.QueryInstruction + query], hybrid.Kinds);
        return [.. index.Search(asked, 0, topK, hybrid.Weights, candidates).Select(hit => (hit.Score, documents[hit.Document]))];
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
