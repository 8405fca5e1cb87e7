using System.CommandLine;
using System.Text.Json;
using Bge.Core;
using Bge.Tokenizer;

namespace Bge.Cli.Commands;

/// <summary>
/// <c>bge rerank</c>: a cross-encoder's relevance of (query, passage) pairs. Without <c>--query</c>, each input line is
/// a pair and the output is one <c>{"logit", "score"}</c> per pair in input order; with <c>--query</c>, each input
/// line is a passage and the output is the passages ranked, one <c>{"index", "logit", "score", "text"}</c> each, most
/// relevant first.
/// </summary>
internal static class RerankCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.Description = "A cross-encoder (*ForSequenceClassification): a model directory in Hub layout, or a Hub id downloaded by 'bge model pull' (e.g. BAAI/bge-reranker-base).";
        model.Required = true;
        var input = CommonOptions.Input();
        input.Description = "Without --query: (query, passage) pairs, one JSON line each, {\"query\": …, \"passage\": …} or [query, passage]. With --query: the passages, one per line. '-' reads standard input.";
        input.Required = true;
        var format = CommonOptions.InputFormat();
        format.Description = "text: one passage per line (with --query only); jsonl: one JSON value per line, a pair without --query, a string (or {\"text\": string}) with --query.";
        var query = new Option<string?>("--query", "-q") { Description = "Rank the input's passages for this query (no instruction is added)." };
        var topK = new Option<int?>("--top-k", "-k") { Description = "With --query: print only the K most relevant passages (default: all)." };
        var maxLength = CommonOptions.MaxLength();
        maxLength.Description = "Maximum tokens per pair, the specials included (default: the model's own, e.g. 512 for bge-reranker-base, 8192 for bge-reranker-v2-m3).";
        var truncation = CommonOptions.Truncation();
        var batchSize = new Option<int>("--batch-size") { Description = "Pairs per forward pass.", DefaultValueFactory = _ => 32 };
        var threads = new Option<int>("--threads") { Description = "Threads per forward pass.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var precision = CommonOptions.Precision();
        var output = CommonOptions.Output();
        var command = new Command(
            "rerank",
            "Score (query, passage) pairs with a cross-encoder (a reranker such as BAAI/bge-reranker-base). "
            + "Without --query: one {\"logit\": x, \"score\": sigmoid(x)} per input pair, in input order. "
            + "With --query: the input's passages ranked, most relevant first, one {\"index\": i, \"logit\": x, \"score\": s, \"text\": passage} each (index: the passage's 0-based position in the input).")
        {
            model, input, format, query, topK, maxLength, truncation, batchSize, threads, precision, output,
        };
        command.SetAction(parse =>
        {
            var (path, jsonl, text) = (parse.GetValue(input)!, parse.GetValue(format) == "jsonl", parse.GetValue(query));
            if (Usage(text, jsonl, parse.GetValue(topK), parse.GetValue(batchSize), parse.GetValue(threads)) is { } usage)
            {
                Console.Error.WriteLine("bge rerank: " + usage);
                return 1;
            }

            var options = new RerankOptions
            {
                MaxLength = parse.GetValue(maxLength),
                Truncation = CommonOptions.ParseTruncation(parse.GetValue(truncation)),
                BatchSize = parse.GetValue(batchSize),
            };

            // The input is read whole before the model loads, so a malformed line costs no load.
            List<(string Query, string Passage, int Line)> pairs;
            try
            {
                pairs = text is null ? [.. TextFiles.ReadPairs(path)] : [.. TextFiles.ReadNumbered(path, parse.GetValue(format)!).Select(p => (text, p.Text, p.Line))];
            }
            catch (InvalidDataException e) when (text is not null && jsonl)
            {
                throw new InvalidDataException(e.Message + "; with --query each line is one passage, a JSON string or {\"text\": string} (leave out --query to score {\"query\", \"passage\"} pairs)", e);
            }

            if (pairs.Count == 0)
            {
                Console.Error.WriteLine($"bge rerank: no {(text is null ? "pairs" : "passages")} in {(path == "-" ? "standard input" : path)}");
                return 1;
            }

            var reranker = Reranker.Load(
                ModelResolver.Create().Resolve(parse.GetValue(model)),
                new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)), DegreeOfParallelism = parse.GetValue(threads), Warning = m => Console.Error.WriteLine("warning: " + m) });
            var logits = Score(reranker, pairs, options, path);
            using var writer = TextFiles.Writer(parse.GetValue(output) ?? "-");
            if (text is null)
            {
                foreach (var logit in logits)
                {
                    writer.WriteLine(Line(json => Scores(json, logit)));
                }

                return 0;
            }

            // Most relevant first, ties in input order (Reranker.Rank's order).
            var ranked = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(parse.GetValue(topK) ?? logits.Length);
            foreach (var i in ranked)
            {
                writer.WriteLine(Line(json =>
                {
                    json.WriteNumber("index", i);
                    Scores(json, logits[i]);
                    json.WriteString("text", pairs[i].Passage);
                }));
            }

            return 0;
        });
        return command;
    }

    private static string? Usage(string? query, bool jsonl, int? topK, int batchSize, int threads) =>
        query is null && !jsonl ? "without --query each input line is a (query, passage) pair in JSON: add --input-format jsonl; or give --query Q to rank the lines as passages"
        : query is null && topK is not null ? "--top-k ranks passages for a --query; pairs are scored in input order"
        : topK < 1 ? "--top-k must be at least 1"
        : batchSize < 1 ? "--batch-size must be at least 1"
        : threads < 1 ? "--threads must be at least 1"
        : null;

    // The logits in input order. A pair that only_second truncation cannot fit fails the whole run, naming its line:
    // a score cannot be made up.
    private static float[] Score(Reranker reranker, List<(string Query, string Passage, int Line)> pairs, RerankOptions options, string path)
    {
        var progress = pairs.Count > options.BatchSize ? ConsoleProgress.ForTerminal("reranking") : null;
        try
        {
            return reranker.Score([.. pairs.Select(p => (p.Query, p.Passage))], options, progress);
        }
        catch (TruncationException e)
        {
            var maxLength = options.MaxLength ?? reranker.MaxLength;
            var (_, _, line) = pairs.FirstOrDefault(p => Fails(reranker.Tokenizer, p.Query, p.Passage, maxLength, options.Truncation));
            if (line == 0)
            {
                throw;
            }

            throw new InvalidDataException($"{path}:{line}: this pair cannot be cut to {maxLength} tokens by only_second truncation, which cuts the passage alone ({e.Message})", e);
        }
    }

    private static bool Fails(Tokenizer.Tokenizer tokenizer, string query, string passage, int maxLength, TruncationStrategy strategy)
    {
        try
        {
            tokenizer.EncodePair(query, passage, maxLength, strategy);
            return false;
        }
        catch (TruncationException)
        {
            return true;
        }
    }

    private static void Scores(Utf8JsonWriter json, float logit)
    {
        json.WriteNumber("logit", logit);
        json.WriteNumber("score", Reranker.Sigmoid(logit));
    }

    private static string Line(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
