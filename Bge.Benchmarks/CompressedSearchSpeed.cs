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
/// Each index file is written batch by batch with <see cref="QuantizedIndexWriter"/> (10 million vectors of 384 are
/// 15 GB of float32, more than one array holds) and reopened, so rescoring reads the float32 vectors through the memory
/// map. Two float32 baselines: the vectors resident in memory (blocks of one batch each, as an in-memory float32 index
/// holds them; the ratios are taken against this one) and <see cref="QuantizedIndex.SearchExact"/>, which reads them
/// from the index file on every query. The resident copy is released before the file is scanned or searched, so the
/// page cache can hold the file.
/// </summary>
internal static class CompressedSearchSpeed
{
    private const int Batch = 65536;

    /// <summary>
    /// Runs <paramref name="rounds"/> rounds (each writes, opens and searches its files afresh) and prints each round's
    /// table, then the medians: queries/s, and the median of each round's ratio to float32 in memory with its range.
    /// </summary>
    public static int Run(int count, int dimension, int queries, int multiplier, string directory, int rounds)
    {
        Console.WriteLine($"CPU: {Machine.CpuName()}; kernels at {Simd.Describe(Simd.Default)}; one thread per query");
        Console.WriteLine($"{count:N0} synthetic unit vectors of {dimension} dimensions, {queries} queries, top 10, rescore × {multiplier}, {rounds} round(s)");
        var results = new List<List<Row>>();
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}:");
            results.Add(Round(count, dimension, queries, multiplier, directory));
        }

        Console.WriteLine($"medians of {rounds} round(s); × float32 is the median of each round's ratio (min–max):");
        Console.WriteLine("| search | resident bytes/vector | queries/s | × float32 in memory | recall@10 of float32's top 10 |");
        Console.WriteLine("|---|---|---|---|---|");
        for (var i = 0; i < results[0].Count; i++)
        {
            var row = results[0][i];
            var ratios = results.Select(r => r[i].QueriesPerSecond / r[0].QueriesPerSecond).ToList();
            Console.WriteLine($"| {row.Search} | {row.Bytes} | {Figure(Median(results.Select(r => r[i].QueriesPerSecond)))} | "
                + $"{Figure(Median(ratios))} ({Figure(ratios.Min())}–{Figure(ratios.Max())}) | {row.Recall} |");
        }

        return 0;
    }

    private sealed record Row(string Search, string Bytes, double QueriesPerSecond, string Recall);

    private static string Figure(double value) =>
        value.ToString(value >= 100 ? "F0" : value >= 10 ? "F1" : "F2", CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static List<Row> Round(int count, int dimension, int queries, int multiplier, string directory)
    {
        var table = new List<Row>();
        void Print(Row row) => Console.WriteLine($"| {row.Search} | {row.Bytes} | {Figure(row.QueriesPerSecond)} | {Figure(row.QueriesPerSecond / table[0].QueriesPerSecond)} | {row.Recall} |");
        var random = new Random(5);
        var queryVectors = Enumerable.Range(0, queries).Select(_ => (Row: random.NextInt64(count), Vector: (float[]?)null)).ToArray();
        var texts = new string[Batch];
        Array.Fill(texts, "");
        List<HashSet<int>>? truth = null;
        var resident = new List<float[]>();
        double exactSeconds = 0;
        foreach (var form in new[] { VectorQuantization.Binary, VectorQuantization.Int8 })
        {
            var path = Path.Combine(directory, $"speed-{form}.bgeq");
            var clock = Stopwatch.StartNew();
            using (var writer = new QuantizedIndexWriter(path, "synthetic", PoolingMode.Cls, form, dimension))
            {
                Generate(count, dimension, batch =>
                {
                    foreach (ref var query in queryVectors.AsSpan())
                    {
                        if (query.Row >= writer.Count && query.Row < writer.Count + batch.Rows)
                        {
                            query.Vector ??= Perturbed(batch.Row((int)(query.Row - writer.Count)), random);
                        }
                    }

                    if (truth is null)
                    {
                        resident.Add(batch.Data[..(batch.Rows * dimension)]);
                    }

                    writer.Add(new ArraySegment<string>(texts, 0, batch.Rows), batch);
                });
                writer.Complete();
            }

            var written = clock.Elapsed.TotalSeconds;
            clock.Restart();
            using var index = QuantizedIndex.Open(path);
            Console.WriteLine($"{form}: {new FileInfo(path).Length / 1e9:F2} GB file written in {written:F0} s, opened (all checksums) in {clock.Elapsed.TotalSeconds:F0} s; "
                + $"managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1e6:F0} MB");
            var vectors = queryVectors.Select(q => q.Vector!).ToArray();
            if (truth is null)
            {
                var exact = new List<HashSet<int>>();
                exactSeconds = Time(vectors, q => exact.Add(SearchResident(resident, q, dimension)), exact.Clear, warmUps: 2);
                truth = exact;
                table.Add(new Row("float32 exact, in memory", $"{dimension * 4}", queries / exactSeconds, "100%"));
                Print(table[^1]);
                resident.Clear();
                resident.TrimExcess();
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                Console.WriteLine($"(float32 copy released: managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1e6:F0} MB)");
                var fromFile = new List<HashSet<int>>();
                var fileSeconds = Time(vectors, q => fromFile.Add([.. index.SearchExact(q, 10).Select(h => h.Index)]), fromFile.Clear, warmUps: 2);
                var same = Enumerable.Range(0, queries).All(q => fromFile[q].SetEquals(truth[q]));
                table.Add(new Row("float32 exact, read from the file each query (SearchExact)", "0 (page cache)", queries / fileSeconds, same ? "100%" : "differs"));
                Print(table[^1]);
            }

            foreach (var m in new[] { 0, multiplier })
            {
                var found = new List<HashSet<int>>();
                var seconds = Time(vectors, q => found.Add([.. index.Search(q, 10, m).Select(h => h.Index)]), found.Clear);
                var recall = Enumerable.Range(0, queries).Average(q => found[q].Intersect(truth[q]).Count() / 10.0);
                table.Add(new Row($"{form.ToString().ToLowerInvariant()}{(m > 0 ? $" + rescore × {m}" : "")}", $"{index.BytesPerVector}", queries / seconds, $"{(100 * recall).ToString("F1", CultureInfo.InvariantCulture)}%"));
                Print(table[^1]);
            }

            index.Dispose(); // before the file is deleted
            File.Delete(path);
        }

        return table;
    }

    // Clustered unit vectors (random centres plus noise), so near neighbours exist as they do for real embeddings,
    // made a batch at a time so no more than one batch is ever in memory.
    private static void Generate(int count, int dimension, Action<EmbeddingMatrix> add)
    {
        var random = new Random(7);
        var centres = Enumerable.Range(0, 1000).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        var data = new float[Batch * dimension];
        for (var first = 0; first < count; first += Batch)
        {
            var rows = Math.Min(Batch, count - first);
            data = rows == Batch ? data : new float[rows * dimension];
            for (var r = 0; r < rows; r++)
            {
                var row = data.AsSpan(r * dimension, dimension);
                var centre = centres[random.Next(centres.Length)];
                for (var i = 0; i < dimension; i++)
                {
                    row[i] = centre[i] + (0.35f * ((float)random.NextDouble() - 0.5f));
                }

                TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
            }

            add(new EmbeddingMatrix(data, rows, dimension));
        }
    }

    private static float[] Perturbed(ReadOnlySpan<float> row, Random random)
    {
        var v = row.ToArray();
        for (var i = 0; i < v.Length; i++)
        {
            v[i] += 0.2f * ((float)random.NextDouble() - 0.5f);
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    // The float32 index a corpus of this size would be in memory: a scan of every resident block.
    private static HashSet<int> SearchResident(List<float[]> blocks, float[] query, int dimension)
    {
        var best = new TopK(10);
        var first = 0;
        foreach (var block in blocks)
        {
            ExactScan.Offer(best, query, block, first);
            first += block.Length / dimension;
        }

        return [.. best.Best().Select(hit => hit.Index)];
    }

    // Untimed queries first (forty where one query is quick), so the scan loops run their final (tier-1) code and the
    // pages they read are cached when every query is timed once.
    private static double Time(float[][] queries, Action<float[]> search, Action reset, int warmUps = 40)
    {
        for (var i = 0; i < warmUps; i++)
        {
            search(queries[i % queries.Length]);
        }

        reset();
        Thread.Sleep(200);
        var clock = Stopwatch.StartNew();
        foreach (var query in queries)
        {
            search(query);
        }

        return clock.Elapsed.TotalSeconds;
    }
}
