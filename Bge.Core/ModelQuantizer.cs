using Bge.Core.Kernels;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Core;

/// <summary>
/// Writes a copy of a model directory whose encoder Linear weights are stored at a lower precision (see
/// <see cref="QuantizedWeights"/>): int8 with per-row F32 scales, or BF16; the word-embedding table BF16 (as either
/// precision holds it in memory); every other tensor (a cross-encoder's head too) stays F32 and every
/// other file (config, vocabulary, pooling, instruction) is copied. The copy loads at that precision by default, with
/// no quantization work at load, and is smaller on disk.
/// </summary>
public static class ModelQuantizer
{
    private static readonly string[] WeightExtensions = [".safetensors", ".bin", ".onnx", ".h5", ".msgpack", ".ot"];

    /// <summary>Writes <paramref name="source"/> quantized to <paramref name="precision"/> into <paramref name="destination"/> (created or replaced, atomically).</summary>
    /// <exception cref="ArgumentException"><paramref name="precision"/> is fp32, or the destination is the source.</exception>
    /// <exception cref="ModelFormatException">The source's weights are malformed.</exception>
    public static void Write(ModelDirectory source, string destination, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        var scheme = precision switch
        {
            Precision.Int8 => QuantizedWeights.Int8,
            Precision.Bf16 => QuantizedWeights.Bf16,
            _ => throw new ArgumentException($"a model is quantized to int8 or bf16, not {Precisions.Name(precision)}", nameof(precision)),
        };
        var full = Path.GetFullPath(destination.TrimEnd('/', '\\'));
        if (string.Equals(full, Path.GetFullPath(source.Path).TrimEnd('/', '\\'), StringComparison.Ordinal))
        {
            throw new ArgumentException($"the quantized model cannot replace its source {source.Path}", nameof(destination));
        }

        var staging = full + ".partial-" + Environment.ProcessId;
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        foreach (var file in Directory.EnumerateFiles(source.Path, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source.Path, file);
            if (WeightExtensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase) || file.EndsWith(".index.json", StringComparison.Ordinal) || relative.StartsWith('.'))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(staging, relative))!);
            File.Copy(file, Path.Combine(staging, relative));
        }

        using (var weights = source.OpenWeights())
        {
            SafeTensorsWriter.Write(Path.Combine(staging, "model.safetensors"), Entries(weights, precision), new Dictionary<string, string>
            {
                ["format"] = "pt",
                [QuantizedWeights.MetadataKey] = scheme,
            });
        }

        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }

        Directory.Move(staging, full);
    }

    private static IEnumerable<SafeTensorsEntry> Entries(Checkpoint weights, Precision precision)
    {
        foreach (var name in weights.Names.Where(n => !n.EndsWith(QuantizedWeights.ScaleSuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var shape = weights.Info(name).Shape.ToArray();
            var values = weights.Read(name);
            if (name == EncoderTensorNames.Embeddings[0])
            {
                // Held as bf16 at either precision (EncoderEmbeddings), so stored so.
                yield return SafeTensorsEntry.FromFloats(name, shape, values, TensorDType.BF16);
            }
            else if (!QuantizedWeights.IsLinearWeight(name, shape))
            {
                yield return SafeTensorsEntry.FromFloats(name, shape, values);
            }
            else if (precision == Precision.Bf16)
            {
                yield return SafeTensorsEntry.FromFloats(name, shape, values, TensorDType.BF16);
            }
            else
            {
                var (rows, columns) = ((int)shape[0], (int)shape[1]);
                var quantized = new sbyte[values.Length];
                var scales = new float[rows];
                for (var r = 0; r < rows; r++)
                {
                    scales[r] = PackedWeight.QuantizeChannel(values.AsSpan(r * columns, columns), quantized.AsSpan(r * columns, columns));
                }

                yield return new SafeTensorsEntry(name, TensorDType.I8, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(quantized.AsSpan()).ToArray());
                yield return SafeTensorsEntry.FromFloats(QuantizedWeights.ScaleName(name), [rows], scales);
            }
        }

        // A cross-encoder's head (pooler, classifier) stays F32, under the names the checkpoint reads it by.
        foreach (var name in weights.HeadNames.Order(StringComparer.Ordinal))
        {
            if (weights.Info(name).DType.IsFloatingPoint())
            {
                yield return SafeTensorsEntry.FromFloats(name, [.. weights.Info(name).Shape], weights.Read(name));
            }
        }
    }
}
