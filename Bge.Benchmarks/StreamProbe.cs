using System.Diagnostics;
using System.Globalization;
using Bge.Core;

namespace Bge.Benchmarks;

/// <summary>
/// Memory and time under load: embeds <c>count</c> texts (STS-B sentences, cycled) through
/// <see cref="Embedder.EncodeStream"/>, printing the working set at every tenth, then times one text of 1 MB and
/// one of 10 MB. Run as <c>Bge.Benchmarks stream [--count N] [--threads N]</c>.
/// </summary>
internal static class StreamProbe
{
    public static int Run(int count, int threads)
    {
        var c = CultureInfo.InvariantCulture;
        var embedder = Embedder.Load(BenchModels.Directory(BenchModels.Recipes.Default), new EmbedderOptions { DegreeOfParallelism = threads });
        var sentences = BenchModels.StsSentences();
        IEnumerable<string> Texts()
        {
            for (var i = 0; i < count; i++)
            {
                yield return sentences[i % sentences.Count] + " #" + i.ToString(c);
            }
        }

        using var self = Process.GetCurrentProcess();
        double WorkingSetMb()
        {
            self.Refresh();
            return self.WorkingSet64 / 1e6;
        }

        Console.WriteLine($"streaming {count:N0} texts through EncodeStream ({embedder.Name}, {threads} threads); working set after load {WorkingSetMb():F1} MB");
        var clock = Stopwatch.StartNew();
        var done = 0;
        double checksum = 0;
        foreach (var vector in embedder.EncodeStream(Texts()))
        {
            checksum += vector[0];
            if (++done % Math.Max(1, count / 10) == 0)
            {
                // The heap as the GC left it, then what is still reachable after a full collection: a leak shows in the second.
                var heap = GC.GetTotalMemory(false) / 1e6;
                Console.WriteLine($"  {done,9:N0} texts  {clock.Elapsed.TotalSeconds,7:F1} s  working set {WorkingSetMb(),7:F1} MB  GC heap {heap,6:F1} MB, live {GC.GetTotalMemory(true) / 1e6,6:F1} MB");
            }
        }

        self.Refresh();
        Console.WriteLine($"  {done:N0} texts in {clock.Elapsed.TotalSeconds:F1} s ({done / clock.Elapsed.TotalSeconds:F0}/s); peak working set {self.PeakWorkingSet64 / 1e6:F1} MB (checksum {checksum:F3})");

        var words = "retrieval augmented generation needs good embeddings ";
        foreach (var megabytes in new[] { 1, 10 })
        {
            var text = string.Concat(Enumerable.Repeat(words, megabytes * 1_000_000 / words.Length));
            embedder.Encode(text[..10_000]);
            var one = Stopwatch.StartNew();
            var tokens = embedder.Tokenizer.Encode(text).Length;
            var tokenizeMs = one.Elapsed.TotalMilliseconds;
            one.Restart();
            embedder.Encode(text);
            Console.WriteLine($"one {megabytes} MB text: tokenized to {tokens} tokens in {tokenizeMs:F2} ms, embedded in {one.Elapsed.TotalMilliseconds:F1} ms");
        }

        return 0;
    }
}
