using Bge.Reference;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// A BERT-base-shaped model (12 layers, hidden 768, 12 heads, intermediate 3072, vocab 30522) with random weights,
/// written once as a model directory for us and as an ONNX graph of the very same tensors for ONNX Runtime.
/// Both are cached under the temp folder (about 0.9 GB) and rebuilt when missing.
/// </summary>
internal static class BertBase
{
    public static EncoderConfig Config { get; } = new(30522, 768, 12, 12, 3072, 512, 2, 1e-12, "gelu");

    public static string Folder => Path.Combine(Path.GetTempPath(), "bge-bench-bert-base");

    public static string Directory => Path.Combine(Folder, "model");

    public static string OnnxFile => Path.Combine(Folder, "model.onnx");

    public static void EnsureWritten() => EnsureWritten(Folder, Config, seed: 768, "the random BERT-base model", "bert-base-uncased");

    /// <summary>
    /// Writes random weights of <paramref name="config"/> once into <paramref name="folder"/>: <c>model/</c> for us and
    /// <c>model.onnx</c> of the same tensors for ONNX Runtime, with a stamp so a second call does nothing.
    /// </summary>
    internal static void EnsureWritten(string folder, EncoderConfig config, int seed, string what, string shape)
    {
        var stamp = Path.Combine(folder, ".complete");
        if (File.Exists(stamp))
        {
            return;
        }

        Console.WriteLine($"Writing {what} and its ONNX graph to {folder} (once) ...");
        System.IO.Directory.CreateDirectory(folder);
        var tensors = RandomTensors(config, seed);
        var vocabulary = Bge.Tokenizer.Tokenizer.FromWordPieceVocab(Path.Combine(BenchModels.Directory(BenchModels.Recipes.Default), "vocab.txt"));
        var card = new ModelCard(PoolingMode.Cls, null, $"Random weights in the shape of {shape}, for benchmarks only.\n");
        ModelDirectoryWriter.Write(Path.Combine(folder, "model"), config, tensors, [.. Enumerable.Range(0, vocabulary.VocabularySize).Select(i => vocabulary.IdToToken(i)!)], card);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), OnnxBertExport.Build(config, tensors));
        File.WriteAllText(stamp, "");
    }

    /// <summary>BERT's initialisation: weights ~ N(0, 0.02²) (Box–Muller), biases 0, LayerNorm γ = 1 and β = 0.</summary>
    internal static Dictionary<string, (long[] Shape, float[] Values)> RandomTensors(EncoderConfig config, int seed)
    {
        var random = new Random(seed);
        var tensors = new Dictionary<string, (long[], float[])>();
        foreach (var (name, shape) in EncoderTensorNames.Expected(config))
        {
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal))
            {
                Array.Fill(values, 1f);
            }
            else if (!name.EndsWith(".bias", StringComparison.Ordinal))
            {
                for (var i = 0; i < values.Length; i++)
                {
                    var u = 1.0 - random.NextDouble();
                    values[i] = (float)(0.02 * Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * random.NextDouble()));
                }
            }

            tensors[name] = (shape, values);
        }

        return tensors;
    }
}
