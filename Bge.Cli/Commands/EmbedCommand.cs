using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Bge.Core;
using Bge.Weights;

namespace Bge.Cli.Commands;

/// <summary><c>bge embed</c>: embeddings and their similarity matrix, or a file of texts to a file of vectors.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var pooling = new Option<string?>("--pooling") { Description = "cls or mean (default: the pooling the model was trained with)." };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Do not L2-normalize the embeddings." };
        var maxLength = CommonOptions.MaxLength();
        var batchSize = new Option<int>("--batch-size") { Description = "Texts per forward pass.", DefaultValueFactory = _ => 32 };
        var query = new Option<bool>("--query") { Description = "Prepend the model's retrieval instruction (for search queries)." };
        var input = CommonOptions.Input();
        var format = CommonOptions.InputFormat();
        var output = CommonOptions.Output();
        var precision = CommonOptions.Precision();
        var texts = new Argument<string[]>("text") { Description = "Texts to embed.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("embed", "Embed texts and print the vectors and their similarity matrix.")
        {
            model, pooling, noNormalize, maxLength, batchSize, query, precision, input, format, output, texts,
        };
        command.SetAction(parse =>
        {
            var directory = ModelResolver.Create().Resolve(parse.GetValue(model));
            var embedder = Embedder.Load(directory, new EmbedderOptions { Warning = m => Console.Error.WriteLine("warning: " + m), Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) });
            var options = new EncodeOptions
            {
                Pooling = parse.GetValue(pooling) switch { "cls" => PoolingMode.Cls, "mean" => PoolingMode.Mean, _ => null },
                Normalize = !parse.GetValue(noNormalize),
                MaxLength = parse.GetValue(maxLength),
                BatchSize = parse.GetValue(batchSize),
            };
            var inputs = parse.GetValue(input) is { } file
                ? TextFiles.Read(file, parse.GetValue(format)!).Concat(parse.GetValue(texts) ?? []).ToList()
                : (parse.GetValue(texts) ?? []).ToList();
            if (inputs.Count == 0)
            {
                Console.Error.WriteLine("bge embed: give texts as arguments or --input FILE");
                return 1;
            }

            var progress = inputs.Count > options.BatchSize ? ConsoleProgress.ForTerminal("embedding") : null;
            var embeddings = parse.GetValue(query) ? embedder.EncodeQueries(inputs, options, progress) : embedder.EncodeCorpus(inputs, options, progress);
            if (parse.GetValue(output) is { } outputPath || parse.GetValue(input) is not null)
            {
                using var writer = TextFiles.Writer(parse.GetValue(output) ?? "-");
                for (var i = 0; i < embeddings.Rows; i++)
                {
                    writer.WriteLine(JsonSerializer.Serialize(embeddings.RowArray(i), CliJsonContext.Default.SingleArray));
                }

                return 0;
            }

            Print(embedder.Name, embedder, options, inputs, embeddings);
            return 0;
        });
        return command;
    }

    private static void Print(string name, Embedder embedder, EncodeOptions options, IReadOnlyList<string> texts, EmbeddingMatrix embeddings)
    {
        var c = CultureInfo.InvariantCulture;
        var config = embedder.Model.Config;
        Console.WriteLine($"model: {name} ({config.NumHiddenLayers} layers, hidden {config.HiddenSize}), pooling {(options.Pooling ?? embedder.TrainedPooling).ToString().ToLowerInvariant()}, {(options.Normalize ? "L2-normalized" : "not normalized")}");
        Console.WriteLine($"kernels: {Bge.Core.Kernels.Simd.Describe(embedder.Model.Simd)}" + (embedder.Model.Precision == Precision.Fp32 ? "" : $", {Precisions.Name(embedder.Model.Precision)} weights")
                          + (embedder.Model.Precision == Precision.Int8 ? $" (int8 products: {Bge.Core.Kernels.Gemm.DescribeInt8(embedder.Model.Simd)})" : ""));
        Console.WriteLine($"embeddings: shape ({embeddings.Rows}, {embeddings.Columns})");
        for (var i = 0; i < embeddings.Rows; i++)
        {
            var row = embeddings.Row(i);
            var head = string.Join(", ", row[..Math.Min(4, row.Length)].ToArray().Select(v => v.ToString("F4", c)));
            var tail = string.Join(", ", row[^Math.Min(2, row.Length)..].ToArray().Select(v => v.ToString("F4", c)));
            Console.WriteLine($"  [{i}] [{head}, ..., {tail}]  {JsonSerializer.Serialize(texts[i], CliJsonContext.Default.String)}");
        }

        var scores = Embedder.Similarity(embeddings, embeddings);
        Console.WriteLine("similarity (embeddings @ embeddings.T):");
        Console.WriteLine("       " + string.Concat(Enumerable.Range(0, scores.Columns).Select(j => $"{"[" + j + "]",8}")));
        for (var i = 0; i < scores.Rows; i++)
        {
            Console.WriteLine($"  {"[" + i + "]",-5}" + string.Concat(Enumerable.Range(0, scores.Columns).Select(j => scores[i, j].ToString("F4", c).PadLeft(8))));
        }
    }
}
