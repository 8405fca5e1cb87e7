using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Tests;

/// <summary>Small random BERT checkpoints written by the tests themselves.</summary>
internal static class TinyBert
{
    public static EncoderConfig Config(int layers = 2, int hidden = 16, int heads = 4, int intermediate = 32, int vocab = 50) =>
        new(vocab, hidden, layers, heads, intermediate, 64, 2, 1e-12, "gelu");

    public static Dictionary<string, (long[] Shape, float[] Values)> Tensors(EncoderConfig config, int seed = 7)
    {
        var random = new Random(seed);
        return EncoderTensorNames.Expected(config).ToDictionary(
            e => e.Name,
            e => (e.Shape, Enumerable.Range(0, (int)e.Shape.Aggregate(1L, (a, d) => a * d))
                .Select(_ => (float)((random.NextDouble() - 0.5) * 0.4)).ToArray()));
    }

    /// <summary>Writes config.json and model.safetensors, with tensor names passed through <paramref name="rename"/>.</summary>
    public static void Write(string directory, EncoderConfig config, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> tensors,
        Func<string, string>? rename = null, TensorDType dtype = TensorDType.F32)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson());
        SafeTensorsWriter.Write(Path.Combine(directory, "model.safetensors"),
            tensors.Select(t => SafeTensorsEntry.FromFloats((rename ?? (n => n))(t.Key), t.Value.Shape, t.Value.Values, dtype)));
    }
}
