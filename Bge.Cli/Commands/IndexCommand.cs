using System.CommandLine;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Search;

namespace Bge.Cli.Commands;

/// <summary><c>bge index build</c>: a file of texts to an index file that <c>bge search --index</c> reads.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var corpus = new Option<string>("--corpus") { Description = "The documents, one per line.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The index file to write (replaced whole, atomically).", Required = true };
        var quantize = new Option<string?>("--quantize")
        {
            Description = "binary or int8: resident codes searched in full, the float32 vectors memory-mapped for rescoring (bge search --rescore-multiplier). "
                + "Absent: a float32 index, as bge search --index keeps.",
        };
        quantize.AcceptOnlyFromAmong("binary", "int8");
        var dimensions = new Option<int?>("--dimensions") { Description = "With --quantize: index the first N dimensions, re-normalized (Matryoshka truncation)." };
        var calibration = new Option<string?>("--calibration") { Description = "With --quantize int8: the calibration embeddings (JSON arrays per line; default: the corpus's own)." };
        var precision = CommonOptions.Precision();
        var build = new Command("build", "Embed the lines of a corpus file into an index file.") { model, corpus, output, quantize, dimensions, calibration, precision };
        build.SetAction(parse =>
        {
            var form = parse.GetValue(quantize) switch { "binary" => VectorQuantization.Binary, "int8" => VectorQuantization.Int8, _ => (VectorQuantization?)null };
            var usage = form is null && parse.GetValue(dimensions) is not null ? "--dimensions needs --quantize"
                : form != VectorQuantization.Int8 && parse.GetValue(calibration) is not null ? "--calibration needs --quantize int8"
                : null;
            if (usage is not null)
            {
                Console.Error.WriteLine("bge index build: " + usage);
                return 1;
            }

            var embedder = Embedder.Load(ModelResolver.Create().Resolve(parse.GetValue(model)), new EmbedderOptions { Precision = CommonOptions.ParsePrecision(parse.GetValue(precision)) });
            var documents = File.ReadLines(parse.GetValue(corpus)!).Where(l => l.Trim().Length > 0).ToList();
            var progress = ConsoleProgress.ForTerminal("indexing");
            if (form is not { } quantization)
            {
                var plain = new EmbeddingIndex(embedder.Name, embedder.Dimension, embedder.TrainedPooling);
                plain.Add(embedder, documents, progress);
                plain.Save(parse.GetValue(output)!);
                Console.Error.WriteLine($"{parse.GetValue(output)}: {plain.Count} documents, float32, {plain.Dimension} dimensions");
                return 0;
            }

            var width = parse.GetValue(dimensions) ?? embedder.Dimension;
            var ranges = parse.GetValue(calibration) is { } file ? Calibration.Read(file, width) : null;
            // Embedded and written a chunk at a time, so the float32 vectors of a large corpus are never all in memory.
            using var writer = new QuantizedIndexWriter(parse.GetValue(output)!, embedder.Name, embedder.TrainedPooling, quantization, width, ranges);
            const int chunk = 16384;
            for (var first = 0; first < documents.Count; first += chunk)
            {
                var texts = documents.GetRange(first, Math.Min(chunk, documents.Count - first));
                writer.Add(texts, embedder.EncodeCorpus(texts, new EncodeOptions { Dimensions = parse.GetValue(dimensions) }, ConsoleProgress.Part(progress, first, documents.Count)));
            }

            writer.Complete();
            Console.Error.WriteLine($"{parse.GetValue(output)}: {writer.Count} documents, {parse.GetValue(quantize)} codes of {writer.BytesPerVector} bytes resident, {width} dimensions");
            return 0;
        });
        return new Command("index", "Build index files for bge search.") { build };
    }
}
