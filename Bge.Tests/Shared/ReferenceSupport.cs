using System.Reflection;
using Bge.Tokenizer;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Bge.Reference;

// Compiled into both Bge.Tests and Bge.Benchmarks: where the repository and the shared reference data are, and
// how a padded batch is handed to ONNX Runtime.

/// <summary>The repository this assembly was built from, and the shared reference data beside it.</summary>
internal static class RepositoryPaths
{
    /// <summary>The repository root, recorded at build time.</summary>
    public static string Root { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "Bge.Root").Value!;

    /// <summary>The shared reference data: BGE_SHARED, else a <c>shared</c> folder beside the repository or an ancestor, else /work/shared.</summary>
    public static string Shared { get; } = FindShared();

    private static string FindShared()
    {
        if (Environment.GetEnvironmentVariable("BGE_SHARED") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(Root); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "golden")))
            {
                return candidate;
            }
        }

        return "/work/shared";
    }
}

/// <summary>ONNX Runtime's BERT inputs for a padded batch.</summary>
internal static class OrtInputs
{
    /// <summary>input_ids, attention_mask and token_type_ids as int64 [batch × length] tensors.</summary>
    public static List<NamedOnnxValue> From(PaddedBatch batch)
    {
        int[] shape = [batch.BatchSize, batch.SequenceLength];
        static long[] Longs(int[] values) => Array.ConvertAll(values, v => (long)v);
        return
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(Longs(batch.InputIds), shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Longs(batch.AttentionMask), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(Longs(batch.TokenTypeIds), shape)),
        ];
    }
}

/// <summary>Pooling over ONNX Runtime's padded last_hidden_state.</summary>
internal static class OrtPooling
{
    /// <summary>The mean of a text's own <paramref name="length"/> rows of <paramref name="h"/> values (padding excluded), summed in double.</summary>
    public static float[] MaskedMean(ReadOnlySpan<float> rows, int length, int h)
    {
        var mean = new double[h];
        for (var t = 0; t < length; t++)
        {
            for (var i = 0; i < h; i++)
            {
                mean[i] += rows[(t * h) + i];
            }
        }

        return mean.Select(v => (float)(v / length)).ToArray();
    }
}
