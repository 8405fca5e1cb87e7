using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Compression;
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
        var vectors = new Option<string?>("--vectors")
        {
            Description = "Outputs of a bge-m3-style model, comma-separated: dense, sparse, colbert. Each text becomes one JSON object {\"dense\": [...], \"sparse\": {\"<id>\": w, ...}, \"colbert\": [[...], ...]} with only the kinds asked for.",
        };
        var dimensions = new Option<int?>("--dimensions") { Description = "Keep the first N dimensions of each embedding, re-normalized (Matryoshka truncation)." };
        var quantize = new Option<string?>("--quantize")
        {
            Description = "Write integers as sentence-transformers' quantize_embeddings does: int8 or uint8 (per-dimension ranges of the calibration embeddings), "
                + "binary (packed sign bits − 128) or ubinary (packed sign bits); after --dimensions.",
        };
        quantize.AcceptOnlyFromAmong("int8", "uint8", "binary", "ubinary");
        var calibration = new Option<string?>("--calibration")
        {
            Description = "With --quantize int8|uint8: the embeddings whose per-dimension [min, max] set the steps, one JSON array per line as bge embed writes them "
                + "(default: this run's own embeddings).",
        };
        var texts = new Argument<string[]>("text") { Description = "Texts to embed.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("embed", "Embed texts and print the vectors and their similarity matrix.")
        {
            model, pooling, noNormalize, maxLength, batchSize, query, precision, vectors, dimensions, quantize, calibration, input, format, output, texts,
        };
        command.SetAction(parse =>
        {
            var form = parse.GetValue(quantize) is { } name ? Quantizations.First(q => q.Name == name).Form : (VectorQuantization?)null;
            if ((parse.GetValue(vectors), form, parse.GetValue(calibration)) switch
                {
                    (not null, _, _) when form is not null || parse.GetValue(dimensions) is not null => "--vectors writes bge-m3's outputs as computed: --dimensions and --quantize apply to plain embeddings",
                    (_, not (VectorQuantization.Int8 or VectorQuantization.UInt8), not null) => "--calibration needs --quantize int8 or uint8",
                    _ => null,
                } is { } usage)
            {
                Console.Error.WriteLine("bge embed: " + usage);
                return 1;
            }

            var directory = ModelResolver.Create().Resolve(parse.GetValue(model));
            var embedder = Embedder.Load(directory, new EmbedderOptions { Warning = m => Console.Error.WriteLine("warning: " + m), Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) });
            var options = new EncodeOptions
            {
                Pooling = parse.GetValue(pooling) switch { "cls" => PoolingMode.Cls, "mean" => PoolingMode.Mean, _ => null },
                Normalize = !parse.GetValue(noNormalize),
                MaxLength = parse.GetValue(maxLength),
                BatchSize = parse.GetValue(batchSize),
                Dimensions = parse.GetValue(dimensions),
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
            if (parse.GetValue(vectors) is { } kinds)
            {
                var asked = ParseOutputs(kinds);
                var texts = parse.GetValue(query) && embedder.QueryInstruction is { } instruction ? inputs.Select(t => instruction + t).ToList() : inputs;
                using var stream = TextFiles.OpenOutput(parse.GetValue(output) ?? "-");
                using var json = new Utf8JsonWriter(stream);
                var done = 0;
                foreach (var chunk in embedder.EncodeOutputsStream(texts, asked, options))
                {
                    var rows = chunk.Dense?.Rows ?? chunk.Sparse?.Length ?? chunk.ColBert!.Length;
                    for (var row = 0; row < rows; row++)
                    {
                        WriteOutputs(json, chunk, row, stream);
                    }

                    done += rows;
                    progress?.Report(new EncodeProgress(done, texts.Count));
                }

                return 0;
            }

            var embeddings = parse.GetValue(query) ? embedder.EncodeQueries(inputs, options, progress) : embedder.EncodeCorpus(inputs, options, progress);
            if (form is { } quantization)
            {
                var ranges = parse.GetValue(calibration) is { } calibrationFile ? Calibration.Read(calibrationFile, embeddings.Columns) : null;
                var quantized = EmbeddingQuantizer.Quantize(embeddings, quantization, ranges);
                using var writer = TextFiles.Writer(parse.GetValue(output) ?? "-");
                for (var i = 0; i < quantized.Rows; i++)
                {
                    writer.WriteLine(JsonSerializer.Serialize(quantized.RowValues(i), CliJsonContext.Default.Int32Array));
                }

                return 0;
            }

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

    /// <summary>The forms of <c>--quantize</c>, by the names sentence-transformers gives them.</summary>
    internal static readonly (string Name, VectorQuantization Form)[] Quantizations =
        [("int8", VectorQuantization.Int8), ("uint8", VectorQuantization.UInt8), ("binary", VectorQuantization.Binary), ("ubinary", VectorQuantization.UBinary)];

    /// <summary>The kinds of <c>--vectors</c>, in the order they are written.</summary>
    internal static readonly (string Name, EncoderOutputs Kind)[] Kinds = [("dense", EncoderOutputs.Dense), ("sparse", EncoderOutputs.Sparse), ("colbert", EncoderOutputs.ColBert)];

    internal static EncoderOutputs ParseOutputs(string list)
    {
        var outputs = EncoderOutputs.None;
        foreach (var name in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            outputs |= Kinds.FirstOrDefault(k => k.Name == name).Kind is var kind and not EncoderOutputs.None
                ? kind
                : throw new ArgumentException($"--vectors: '{name}' is not one of dense, sparse, colbert");
        }

        return outputs == EncoderOutputs.None ? throw new ArgumentException("--vectors: name at least one of dense, sparse, colbert") : outputs;
    }

    // One line {"dense": [...], "sparse": {"<id>": w, ...}, "colbert": [[...], ...]}, the kinds computed, in that order,
    // written as it is formed: a long text's ColBERT vectors (8,191 × 1,024 values) never wait whole in a buffer.
    private static void WriteOutputs(Utf8JsonWriter json, EncodeResult result, int row, Stream stream)
    {
        json.WriteStartObject();
        if (result.Dense is { } dense)
        {
            json.WriteStartArray("dense");
            foreach (var value in dense.Row(row))
            {
                json.WriteNumberValue(value);
            }

            json.WriteEndArray();
        }

        if (result.Sparse?[row] is { } sparse)
        {
            json.WriteStartObject("sparse");
            for (var k = 0; k < sparse.Count; k++)
            {
                json.WriteNumber(sparse.Ids[k].ToString(CultureInfo.InvariantCulture), sparse.Weights[k]);
            }

            json.WriteEndObject();
        }

        if (result.ColBert?[row] is { } colbert)
        {
            json.WriteStartArray("colbert");
            for (var r = 0; r < colbert.Count; r++)
            {
                json.WriteStartArray();
                foreach (var value in colbert.Row(r))
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
                if (json.BytesPending > 1 << 16)
                {
                    json.Flush();
                }
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
        json.Reset();
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
