using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Evaluation;
using Bge.Weights;

namespace Bge.Cli.Commands;

/// <summary><c>bge eval stsb|retrieval|precision</c>: the STS-B correlation and retrieval, per model × pooling; the cost of a lower precision.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Measure models on STS-B: similarity correlation and paraphrase retrieval.");
        command.Subcommands.Add(Stsb());
        command.Subcommands.Add(Retrieval());
        command.Subcommands.Add(PrecisionCost());
        return command;
    }

    private static Command Stsb()
    {
        var (models, pooling, json, precision) = (Models(), Pooling(), Json(), CommonOptions.Precision());
        var data = new Option<string?>("--data") { Description = "The STS-B test file (default: shared/data/stsb/sts-test.csv found above the repository, or under BGE_SHARED)." };
        var command = new Command("stsb", "Cosine-similarity Spearman correlation × 100 on the STS Benchmark test set.") { models, pooling, precision, data, json };
        command.SetAction(parse =>
        {
            var pairs = StsBenchmark.Load(parse.GetValue(data) ?? SharedData.Find("sts-test.csv"));
            var results = new List<(string Model, PoolingMode Pooling, double Value)>();
            foreach (var (name, embedder) in Load(parse.GetValue(models), CommonOptions.ParsePrecision(parse.GetValue(precision))))
            {
                foreach (var mode in Poolings(parse.GetValue(pooling)!))
                {
                    var result = new Evaluator(embedder, ConsoleProgress.ForTerminal($"{name} {Lower(mode)}")).Sts(pairs, mode);
                    results.Add((name, mode, result.Spearman * 100));
                    if (parse.GetValue(json))
                    {
                        Line("stsb", name, mode, false, "spearman", result.Spearman * 100);
                    }
                }
            }

            if (!parse.GetValue(json))
            {
                Console.WriteLine($"STS-B test, {pairs.Count} pairs: Spearman correlation of cosine similarity with the gold score, × 100 (kernels: {Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)})");
                Console.WriteLine($"| {"model",-28} | {"pooling",-7} | {"Spearman",8} |");
                Console.WriteLine($"|{new string('-', 30)}|{new string('-', 9)}|{new string('-', 10)}|");
                foreach (var (model, mode, value) in results)
                {
                    Console.WriteLine($"| {model,-28} | {Lower(mode),-7} | {value.ToString("F2", CultureInfo.InvariantCulture),8} |");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command Retrieval()
    {
        var (models, pooling, json, precision) = (Models(), Pooling(), Json(), CommonOptions.Precision());
        var instruction = new Option<bool>("--query-instruction") { Description = "Prepend the model's query instruction to the queries (documents never get one)." };
        var data = new Option<string?>("--data")
        {
            Description = "A BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): nDCG@10, MRR@10, Recall@1/10/100, MAP@10. "
                + "Or the STS-B test file whose sentences are the corpus of paraphrase retrieval (the default, found as for eval stsb).",
        };
        var queries = new Option<string?>("--queries") { Description = "Paraphrase retrieval's queries, JSON lines {\"query\", \"relevant\"} (default: paraphrase-retrieval.jsonl beside the STS-B file)." };
        var both = new Option<bool>("--both-instructions") { Description = "With a BEIR folder: score the queries without and with the instruction, the documents embedded once." };
        var noTitle = new Option<bool>("--no-title") { Description = "With a BEIR folder: embed documents without their titles (default: title, space, text, as BEIR)." };
        var split = new Option<string>("--split") { Description = "With a BEIR folder: the qrels file to score.", DefaultValueFactory = _ => "test" };
        var rerank = new Option<string?>("--rerank")
        {
            Description = "With a BEIR folder: a cross-encoder (directory or Hub id, e.g. BAAI/bge-reranker-base) that rescores each query's first-stage top --rerank-depth documents; "
                + "prints the reranked metrics after the first-stage ones (at --precision too).",
        };
        var rerankDepth = new Option<int?>("--rerank-depth") { Description = "With --rerank: how many of each query's first-stage documents are rescored (default 100)." };
        var hybridOptions = new HybridOptions("With a BEIR folder and a bge-m3-style model: hybrid retrieval over these outputs (dense, sparse, colbert, comma-separated), "
            + "dense and sparse fused over every document, the best 100 rescored with ColBERT; the model's trained pooling.");
        var command = new Command("retrieval", "Retrieval quality × 100: a BEIR-layout folder (--data DIR), or paraphrase retrieval over the STS-B sentences (Recall@1, Recall@10, MRR@10).")
        {
            models, pooling, precision, instruction, both, data, queries, noTitle, split, rerank, rerankDepth, json,
        };
        foreach (var option in hybridOptions.All)
        {
            command.Options.Add(option);
        }

        var dimensions = new Option<int?>("--dimensions") { Description = "Search the first N dimensions of each embedding, re-normalized (Matryoshka truncation); the trained pooling." };
        var quantize = new Option<string?>("--quantize") { Description = "Search binary or int8 codes of the embeddings (a quantized index); the trained pooling." };
        quantize.AcceptOnlyFromAmong("binary", "int8");
        var rescore = new Option<int?>("--rescore-multiplier") { Description = "With --quantize: rescore each query's top k × M (k = 100, or 11 for paraphrase retrieval) with the float32 vectors; 0 or absent: the codes' ranking." };
        command.Options.Add(dimensions);
        command.Options.Add(quantize);
        command.Options.Add(rescore);
        command.SetAction(parse =>
        {
            var beir = parse.GetValue(data) is { } folder && Directory.Exists(folder);
            var compression = parse.GetValue(dimensions) is null && parse.GetValue(quantize) is null && parse.GetValue(rescore) is null ? null
                : new CompressionSetting(parse.GetValue(dimensions), parse.GetValue(quantize) switch { "binary" => VectorQuantization.Binary, "int8" => VectorQuantization.Int8, _ => null }, parse.GetValue(rescore) ?? 0);
            if ((parse.GetValue(rerank), parse.GetValue(rerankDepth)) switch
                {
                    (null, not null) => "--rerank-depth needs --rerank",
                    (not null, < 1) => "--rerank-depth must be at least 1",
                    (not null, _) when !beir => "--rerank needs a BEIR folder (--data DIR)",
                    _ when parse.GetValue(hybridOptions.Vectors) is not null && !beir => "--vectors needs a BEIR folder (--data DIR)",
                    _ when hybridOptions.Misuse(parse) is { } misuse => misuse,
                    _ when compression is { Form: null, RescoreMultiplier: not 0 } => "--rescore-multiplier needs --quantize",
                    _ when compression is { RescoreMultiplier: < 0 } => "--rescore-multiplier must be 0 or more",
                    _ when compression is not null && (parse.GetValue(hybridOptions.Vectors) is not null || parse.GetValue(rerank) is not null) => "--dimensions/--quantize search dense embeddings alone: not with --vectors or --rerank",
                    _ => null,
                } is { } usage)
            {
                Console.Error.WriteLine("bge eval retrieval: " + usage);
                return 1;
            }

            if (beir)
            {
                var instructions = parse.GetValue(both) ? new[] { false, true } : [parse.GetValue(instruction)];
                var second = parse.GetValue(rerank) is { } reranker ? (reranker, parse.GetValue(rerankDepth) ?? 100) : ((string, int)?)null;
                var hybrid = hybridOptions.Parse(parse);
                return Beir(parse.GetValue(data)!, parse.GetValue(split)!, !parse.GetValue(noTitle), parse.GetValue(models), CommonOptions.ParsePrecision(parse.GetValue(precision)), parse.GetValue(pooling)!, instructions, second, hybrid, compression, parse.GetValue(json));
            }

            var stsb = parse.GetValue(data) ?? SharedData.Find("sts-test.csv");
            var queriesPath = parse.GetValue(queries) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(stsb))!, "paraphrase-retrieval.jsonl");
            var task = RetrievalTask.Load(queriesPath, StsBenchmark.UniqueSentences(StsBenchmark.Load(stsb)));
            var withInstruction = parse.GetValue(instruction);
            var rows = new List<(string Model, PoolingMode Pooling, RetrievalResult Result)>();
            foreach (var (name, embedder) in Load(parse.GetValue(models), CommonOptions.ParsePrecision(parse.GetValue(precision))))
            {
                foreach (var mode in compression is null ? Poolings(parse.GetValue(pooling)!) : [embedder.TrainedPooling])
                {
                    var evaluator = new Evaluator(embedder, ConsoleProgress.ForTerminal($"{name} {Lower(mode)}"));
                    RetrievalResult result;
                    if (compression is null)
                    {
                        result = evaluator.Retrieval(task, mode, withInstruction);
                    }
                    else
                    {
                        using var corpus = new CompressedSearch(evaluator.EmbedCorpusVectors(task, mode), compression);
                        result = Evaluator.Retrieval(task, evaluator.EmbedQueries(task, mode, withInstruction), corpus);
                    }

                    rows.Add((name, mode, result));
                    if (parse.GetValue(json))
                    {
                        var on = withInstruction && embedder.QueryInstruction is not null;
                        Line("retrieval", name, mode, on, "recall@1", result.RecallAt1 * 100, compression: compression);
                        Line("retrieval", name, mode, on, "recall@10", result.RecallAt10 * 100, compression: compression);
                        Line("retrieval", name, mode, on, "mrr@10", result.MrrAt10 * 100, compression: compression);
                    }
                }
            }

            if (!parse.GetValue(json))
            {
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine($"Paraphrase retrieval, {task.Queries.Count} queries over {task.Corpus.Count} STS-B sentences, queries {(withInstruction ? "with" : "without")} the model's instruction; × 100 (kernels: {Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)})");
                Console.WriteLine($"| {"model",-28} | {"pooling",-7} | {"R@1",6} | {"R@10",6} | {"MRR@10",6} |");
                Console.WriteLine($"|{new string('-', 30)}|{new string('-', 9)}|{new string('-', 8)}|{new string('-', 8)}|{new string('-', 8)}|");
                foreach (var (model, mode, r) in rows)
                {
                    Console.WriteLine($"| {model,-28} | {Lower(mode),-7} | {(r.RecallAt1 * 100).ToString("F2", c),6} | {(r.RecallAt10 * 100).ToString("F2", c),6} | {(r.MrrAt10 * 100).ToString("F2", c),6} |");
                }
            }

            return 0;
        });
        return command;
    }

    private static string Names(EncoderOutputs kinds) =>
        string.Join("+", EmbedCommand.Kinds.Where(k => kinds.HasFlag(k.Kind)).Select(k => k.Name));

    private static int Beir(string folder, string split, bool titles, string[]? models, Precision? precision, string pooling, bool[] instructions, (string Model, int Depth)? rerank, HybridChoice? hybrid, CompressionSetting? compression, bool json)
    {
        var data = BeirDataset.Load(folder, split);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Loaded first, so a model that is no cross-encoder fails before any embedding.
        var second = rerank is var (rerankModel, _) ? Reranker.Load(ModelResolver.Create().Resolve(rerankModel), new EmbedderOptions { Precision = precision }) : null;
        var reranking = second is null ? null : new RetrievalReranker(second, data, titles, progress: ConsoleProgress.ForTerminal($"reranking ({second.Name})"));
        var depth = rerank?.Depth ?? 100;
        var rerankName = second is null ? "" : second.Model.Precision == Precision.Fp32 ? second.Name : $"{second.Name} {Precisions.Name(second.Model.Precision)}";
        var rows = new List<(string Model, PoolingMode Pooling, bool Instruction, bool Reranked, RankedRetrievalResult Result)>();
        var costs = new List<string>();
        foreach (var (name, embedder) in Load(models, precision))
        {
            // Hybrid retrieval uses the trained pooling for its dense part: one pass over the corpus for every output.
            foreach (var mode in hybrid is null && compression is null ? Poolings(pooling) : [embedder.TrainedPooling])
            {
                var evaluator = new Evaluator(embedder, ConsoleProgress.ForTerminal($"{name} {Lower(mode)}"));
                var corpus = hybrid is null && compression is null ? evaluator.EmbedCorpus(data, mode, titles) : null;
                using var compressed = compression is null ? null : new CompressedSearch(evaluator.EmbedCorpusVectors(data, titles), compression);
                var hybridCorpus = hybrid is { Kinds: var kinds } ? evaluator.EmbedCorpusHybrid(data, kinds, titles, hybrid.Storage) : null;
                // A model without an instruction scores the same with or without one: once.
                foreach (var withInstruction in embedder.QueryInstruction is null ? [false] : instructions)
                {
                    // Recall@100 needs 100 documents; reranking deeper needs its depth.
                    var ranking = System.Diagnostics.Stopwatch.StartNew();
                    var rankings = compressed is not null ? Evaluator.RankCompressed(data, evaluator.EmbedJudgedQueries(data, withInstruction), compressed, Math.Max(100, depth))
                        : hybridCorpus is null
                        ? evaluator.Rank(data, corpus!, mode, withInstruction, Math.Max(100, depth))
                        : evaluator.RankHybrid(data, hybridCorpus, hybrid!.Weights, withInstruction, Math.Max(100, depth));
                    if (hybridCorpus is not null && !json)
                    {
                        var colbertCost = hybridCorpus.Kinds.HasFlag(EncoderOutputs.ColBert)
                            ? $"ColBERT vectors {hybridCorpus.ColBertBytes / (double)Math.Max(1, hybridCorpus.Count):N0} bytes per document ({HybridOptions.Name(hybridCorpus.ColBertStorage)}), "
                            : "";
                        costs.Add($"{name} [{Names(hybridCorpus.Kinds)}]: {colbertCost}"
                                  + $"{ranking.Elapsed.TotalMilliseconds / Math.Max(1, rankings.Count):F2} ms per query (encoding and search)");
                    }

                    var results = new List<(bool Reranked, RankedRetrievalResult Result)> { (false, Evaluator.Score(data, rankings)) };
                    if (reranking is not null)
                    {
                        results.Add((true, Evaluator.Score(data, reranking.Rerank(rankings, depth))));
                    }

                    foreach (var (reranked, result) in results)
                    {
                        rows.Add((name, mode, withInstruction, reranked, result));
                        if (json)
                        {
                            foreach (var (metric, value) in new[]
                            {
                                ("ndcg@10", result.NdcgAt10), ("mrr@10", result.MrrAt10), ("recall@1", result.RecallAt1),
                                ("recall@10", result.RecallAt10), ("recall@100", result.RecallAt100), ("map@10", result.MapAt10),
                            })
                            {
                                Line("retrieval", name, mode, withInstruction, metric, value * 100, reranked ? (rerankName, depth) : null, hybrid, compression);
                            }
                        }
                    }
                }
            }
        }

        if (!json)
        {
            var c = CultureInfo.InvariantCulture;
            var scored = rows.Count > 0 ? rows[0].Result : null;
            Console.WriteLine($"Retrieval on {folder}: {scored?.Queries ?? 0} judged queries ({scored?.QueriesWithoutRelevant ?? 0} without a relevant document left out) over {data.Corpus.Count} documents{(titles ? "" : ", titles off")}; × 100 (kernels: {Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)})");
            Console.WriteLine($"| {"model",-28} | {"pooling",-7} | {"instruction",-11} | {"nDCG@10",7} | {"MRR@10",6} | {"R@1",6} | {"R@10",6} | {"R@100",6} | {"MAP@10",6} |");
            Console.WriteLine($"|{new string('-', 30)}|{new string('-', 9)}|{new string('-', 13)}|{new string('-', 9)}|{new string('-', 8)}|{new string('-', 8)}|{new string('-', 8)}|{new string('-', 8)}|{new string('-', 8)}|");
            string F(double v) => (v * 100).ToString("F2", c);
            foreach (var (model, mode, on, reranked, r) in rows)
            {
                var label = (hybrid is { Kinds: var kinds } ? $"{model} [{Names(kinds)}]" : model) + (reranked ? $" → {rerankName} (top {depth})" : "");
                Console.WriteLine($"| {label,-28} | {Lower(mode),-7} | {(on ? "with" : "without"),-11} | {F(r.NdcgAt10),7} | {F(r.MrrAt10),6} | {F(r.RecallAt1),6} | {F(r.RecallAt10),6} | {F(r.RecallAt100),6} | {F(r.MapAt10),6} |");
            }

            costs.ForEach(Console.WriteLine);
            Console.WriteLine($"took {clock.Elapsed.TotalSeconds:F0} s");
        }

        return 0;
    }

    private static Option<string[]> Models() => new("--model", "-m")
    {
        Description = "A model directory or a provisioned model's name; repeat for several (default: every provisioned model).",
        AllowMultipleArgumentsPerToken = false,
    };

    private static Option<string> Pooling()
    {
        var option = new Option<string>("--pooling") { Description = "cls, mean or both.", DefaultValueFactory = _ => "both" };
        option.AcceptOnlyFromAmong("cls", "mean", "both");
        return option;
    }

    private static Option<bool> Json() => new("--json") { Description = "Print one JSON object per result instead of a table." };

    // Each model at one precision, named "<model> <precision>" unless fp32.
    private static IEnumerable<(string Name, Embedder Embedder)> Load(string[]? models, Precision? precision = null)
    {
        var resolver = ModelResolver.Create();
        var names = models is { Length: > 0 } ? models : resolver.Recipes.Models.Select(m => m.Name).ToArray();
        foreach (var model in names)
        {
            // Pooling is chosen per run here, so the warning about a pooling other than the trained one is expected.
            var embedder = Embedder.Load(resolver.Resolve(model), new EmbedderOptions { Warning = _ => { }, Precision = precision });
            yield return (embedder.Model.Precision == Precision.Fp32 ? embedder.Name : $"{embedder.Name} {Precisions.Name(embedder.Model.Precision)}", embedder);
        }
    }

    private static Command PrecisionCost()
    {
        var (models, json, precision) = (Models(), Json(), CommonOptions.Precision());
        precision.Description = "The precision compared with fp32: bf16 or int8 (default int8).";
        var data = new Option<string?>("--data") { Description = "The STS-B test file whose unique sentences are embedded (found as for eval stsb)." };
        var command = new Command("precision", "Cosine of each STS-B sentence's embedding at --precision (default int8) to its fp32 embedding (the model's trained pooling): min, 1st percentile, median.")
        {
            models, precision, data, json,
        };
        command.SetAction(parse =>
        {
            var sentences = StsBenchmark.UniqueSentences(StsBenchmark.Load(parse.GetValue(data) ?? SharedData.Find("sts-test.csv")));
            var chosen = CommonOptions.ParsePrecision(parse.GetValue(precision)) ?? Precision.Int8;
            var c = CultureInfo.InvariantCulture;
            if (!parse.GetValue(json))
            {
                Console.WriteLine($"{sentences.Count} STS-B sentences: cosine of the {Precisions.Name(chosen)} embedding to the fp32 one (kernels: {Bge.Core.Kernels.Simd.Describe(Bge.Core.Kernels.Simd.Default)})");
                Console.WriteLine($"| {"model",-28} | {"min",9} | {"p1",9} | {"median",9} |");
                Console.WriteLine($"|{new string('-', 30)}|{new string('-', 11)}|{new string('-', 11)}|{new string('-', 11)}|");
            }

            foreach (var ((name, reference), (_, other)) in Load(parse.GetValue(models), Precision.Fp32).Zip(Load(parse.GetValue(models), chosen)))
            {
                var (a, b) = (reference.Encode(sentences), other.Encode(sentences));
                var cosines = Enumerable.Range(0, sentences.Count)
                    .Select(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.Row(i), b.Row(i))).Order().ToList();
                var (min, p1, median) = (cosines[0], cosines[cosines.Count / 100], cosines[cosines.Count / 2]);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(new JsonObject
                    {
                        ["task"] = "precision", ["model"] = name, ["precision"] = Precisions.Name(chosen),
                        ["min"] = Math.Round(min, 7), ["p1"] = Math.Round(p1, 7), ["median"] = Math.Round(median, 7),
                    }.ToJsonString());
                }
                else
                {
                    Console.WriteLine($"| {name,-28} | {min.ToString("F6", c),9} | {p1.ToString("F6", c),9} | {median.ToString("F6", c),9} |");
                }
            }

            return 0;
        });
        return command;
    }

    private static IEnumerable<PoolingMode> Poolings(string value) => value switch
    {
        "cls" => [PoolingMode.Cls],
        "mean" => [PoolingMode.Mean],
        _ => [PoolingMode.Cls, PoolingMode.Mean],
    };

    private static string Lower(PoolingMode mode) => mode.ToString().ToLowerInvariant();

    private static void Line(string task, string model, PoolingMode pooling, bool instruction, string metric, double value, (string Name, int Depth)? reranker = null, HybridChoice? hybrid = null, CompressionSetting? compression = null)
    {
        var line = new JsonObject { ["task"] = task, ["model"] = model, ["pooling"] = Lower(pooling), ["instruction"] = instruction };
        if (compression is (var dimensions, var form, var multiplier))
        {
            line["dimensions"] = dimensions;
            line["quantize"] = form switch { VectorQuantization.Binary => "binary", VectorQuantization.Int8 => "int8", _ => "float32" };
            line["rescore_multiplier"] = multiplier;
        }

        if (hybrid is (var kinds, var weights, var storage))
        {
            line["vectors"] = new JsonArray([.. Names(kinds).Split('+').Select(n => (JsonNode)n)]);
            line["weights"] = new JsonArray(weights.Dense, weights.Sparse, weights.ColBert);
            if (kinds.HasFlag(EncoderOutputs.ColBert))
            {
                line["colbert_storage"] = HybridOptions.Name(storage);
            }
        }

        if (reranker is var (name, depth))
        {
            line["reranker"] = name;
            line["rerank_depth"] = depth;
        }

        line["metric"] = metric;
        line["value"] = Math.Round(value, 4);
        Console.WriteLine(line.ToJsonString());
    }
}
