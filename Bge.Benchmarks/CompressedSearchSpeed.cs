using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Kernels;
using Bge.Core.Search;
using Bge.Weights;

namespace Bge.Benchmarks;

/// <summary>
/// search-speed: queries per second and resident bytes per vector of exact float32 search beside int8 and binary
/// codes with rescoring, over N synthetic unit vectors (speed does not depend on what the vectors mean; recall does,
/// so recall@10 of the float32 top 10 on these clustered random vectors says little: nearest neighbours there differ by
/// noise that sign bits cannot see; retention's SQuAD column gives recall on real embeddings).
/// The quantized index is saved and reopened, so rescoring reads its float32 vectors through the memory map.
/// </summary>
internal static class CompressedSearchSpeed
{
    public static int Run(int count, int dimension, int queries, int multiplier, string directory)
    {
        Console.WriteLine($"CPU: {Machine.CpuName()}; kernels at {Simd.Describe(Simd.Default)}; one thread per query");
        Console.WriteLine($"{count:N0} synthetic unit vectors of {dimension} dimensions, {queries} queries, top 10, rescore × {multiplier}");
        var random = new Random(5);
        var data = new float[(long)count * dimension <= Array.MaxLength ? count * dimension : throw new ArgumentOutOfRangeException(nameof(count), "count × dimension must fit one array")];
        // Clustered vectors (random centres plus noise), so near neighbours exist as they do for real embeddings.
        var centres = Enumerable.Range(0, 1000).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        for (var r = 0; r < count; r++)
        {
            var row = data.AsSpan(r * dimension, dimension);
            var centre = centres[random.Next(centres.Length)];
            for (var i = 0; i < dimension; i++)
            {
                row[i] = centre[i] + (0.35f * ((float)random.NextDouble() - 0.5f));
            }

            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }

        var embeddings = new EmbeddingMatrix(data, count, dimension);
        var texts = new string[count];
        Array.Fill(texts, "");
        var queryVectors = Enumerable.Range(0, queries).Select(q =>
        {
            var v = data.AsSpan(random.Next(count) * dimension, dimension).ToArray();
            for (var i = 0; i < dimension; i++)
            {
                v[i] += 0.2f * ((float)random.NextDouble() - 0.5f);
            }

            TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
            return v;
        }).ToArray();

        var exact = new EmbeddingIndex("synthetic", dimension, PoolingMode.Cls);
        exact.Add(texts, embeddings);
        var truth = new List<HashSet<int>>();
        var exactSeconds = Time(() => truth = [.. queryVectors.Select(q => exact.Search(q, 10).Select(h => h.Index).ToHashSet())]);
        Console.WriteLine("| search | resident bytes/vector | queries/s | × float32 | recall@10 of float32's top 10 |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine($"| float32 exact | {dimension * 4} | {queries / exactSeconds:F1} | 1.0 | 100% |");
        exact = null;
        foreach (var form in new[] { VectorQuantization.Int8, VectorQuantization.Binary })
        {
            var path = Path.Combine(directory, $"speed-{form}.bgeq");
            using (var built = QuantizedIndex.Build("synthetic", PoolingMode.Cls, embeddings, texts, form))
            {
                built.Save(path);
            }

            using var index = QuantizedIndex.Open(path);
            foreach (var m in new[] { 0, multiplier })
            {
                var found = new List<HashSet<int>>();
                var seconds = Time(() => found = [.. queryVectors.Select(q => index.Search(q, 10, m).Select(h => h.Index).ToHashSet())]);
                var recall = Enumerable.Range(0, queries).Average(q => found[q].Intersect(truth[q]).Count() / 10.0);
                Console.WriteLine($"| {form.ToString().ToLowerInvariant()}{(m > 0 ? $" + rescore × {m}" : "")} | {index.BytesPerVector} | {queries / seconds:F1} | "
                    + $"{exactSeconds / seconds:F1} | {(100 * recall).ToString("F1", CultureInfo.InvariantCulture)}% |");
            }

            File.Delete(path);
        }

        return 0;
    }

    // Two untimed runs first, so the scan loops run their final (tier-1) code when timed.
    private static double Time(Action action)
    {
        action();
        Thread.Sleep(200);
        action();
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
