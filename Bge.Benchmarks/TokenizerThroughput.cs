using System.Diagnostics;
using System.Text.Json;
using Bge.Reference;
using Microsoft.ML.Tokenizers;

namespace Bge.Benchmarks;

/// <summary>
/// <c>tokenize</c>: tokens per second of our SentencePiece Unigram tokenizer beside Microsoft.ML.Tokenizers' on the
/// same sentencepiece.bpe.model and the texts of the shared golden/xlmr/tokens.jsonl (28 scripts, edge cases, two
/// long texts), in alternating rounds on one thread; medians, and bytes allocated per token. Our steady state
/// remembers the segmentation of words it has seen (as Hugging Face's Unigram does); the first pass of a fresh
/// tokenizer, where every word is new, is measured too.
/// </summary>
internal static class TokenizerThroughput
{
    public static int Run(int rounds)
    {
        var folder = Path.Combine(RepositoryPaths.Shared, "golden", "xlmr");
        var model = Path.Combine(folder, "sentencepiece.bpe.model");
        var texts = File.ReadLines(Path.Combine(folder, "tokens.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        var ours = Bge.Tokenizer.Tokenizer.FromSentencePieceModel(model);
        SentencePieceTokenizer theirs;
        using (var stream = File.OpenRead(model))
        {
            theirs = SentencePieceTokenizer.Create(stream, false, false);
        }

        var agree = texts.Count(t => ours.Encode(t, int.MaxValue).Ids[1..^1].SequenceEqual(theirs.EncodeToIds(t, false, false, true, true).Select(Fairseq)));
        Console.WriteLine($"{texts.Length} texts, {texts.Sum(t => t.Length):N0} UTF-16 chars; ids equal to ML.Tokenizers' (fairseq-shifted) on {agree} texts");

        long OursPass() => texts.Sum(t => (long)ours.Encode(t, int.MaxValue).Length);
        long TheirsPass() => texts.Sum(t => (long)theirs.EncodeToIds(t, false, false, true, true).Count);
        OursPass();
        TheirsPass();
        var oursRates = new List<double>();
        var theirsRates = new List<double>();
        var oursBytes = new List<double>();
        var theirsBytes = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            Measure(OursPass, oursRates, oursBytes);
            Measure(TheirsPass, theirsRates, theirsBytes);
        }

        // A fresh tokenizer's first pass, for both: no word has been seen, so every word runs the Viterbi search. One
        // pass is ~2 ms, too short to time alone on a loaded machine, so a round sums the first passes of several
        // fresh tokenizers (built outside the timed part), the engines alternating within the round.
        const int FreshPerRound = 20;
        var firstPass = new List<double>();
        var theirsFirstPass = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var ourSeconds = 0.0;
            var theirSeconds = 0.0;
            var ourTokens = 0L;
            var theirTokens = 0L;
            for (var f = 0; f < FreshPerRound; f++)
            {
                var fresh = Bge.Tokenizer.Tokenizer.FromSentencePieceModel(model);
                Settle();
                var watch = Stopwatch.StartNew();
                ourTokens += texts.Sum(t => (long)fresh.Encode(t, int.MaxValue).Length);
                ourSeconds += watch.Elapsed.TotalSeconds;
                using var stream = File.OpenRead(model);
                var freshTheirs = SentencePieceTokenizer.Create(stream, false, false);
                Settle();
                watch.Restart();
                theirTokens += texts.Sum(t => (long)freshTheirs.EncodeToIds(t, false, false, true, true).Count);
                theirSeconds += watch.Elapsed.TotalSeconds;
            }

            firstPass.Add(ourTokens / ourSeconds);
            theirsFirstPass.Add(theirTokens / theirSeconds);
        }

        var ourOutput = 4 + 4 + 8 + 1; // ids, type ids, offsets, special mask: the result itself
        Console.WriteLine($"{"",-26} {"tokens/s (median)",18} {"bytes/token",12}");
        Console.WriteLine($"{"Bge (Encode)",-26} {Median(oursRates),18:N0} {Median(oursBytes),12:F1}   (of which {ourOutput} B/token are the Encoding's own arrays)");
        Console.WriteLine($"{"Bge, first pass (cold)",-26} {Median(firstPass),18:N0}");
        Console.WriteLine($"{"ML.Tokenizers 3.0 (EncodeToIds)",-26} {Median(theirsRates),18:N0} {Median(theirsBytes),12:F1}");
        Console.WriteLine($"{"ML.Tokenizers, first pass",-26} {Median(theirsFirstPass),18:N0}");
        Console.WriteLine($"ratio {Median(oursRates) / Median(theirsRates):F2}x warm, {Median(firstPass) / Median(theirsFirstPass):F2}x first pass, over {rounds} alternating rounds, 1 thread");
        Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores");
        return 0;
    }

    /// <summary>
    /// Collects the garbage of building the fresh tokenizers before a timed first pass: building one allocates
    /// megabytes (tries, tables), and a gen-2 collection that lands in the pass would time construction, not the
    /// pass, for whichever engine it happens to hit.
    /// </summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static string CpuModel()
    {
        const string Key = "model name";
        var line = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(Key, StringComparison.Ordinal)) : null;
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }

    private static int Fairseq(int spmId) => spmId == 0 ? 3 : spmId + 1;

    private static void Measure(Func<long> pass, List<double> rates, List<double> bytesPerToken)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        var tokens = 0L;
        var passes = 0;
        while (watch.Elapsed.TotalSeconds < 1 || passes == 0)
        {
            tokens += pass();
            passes++;
        }

        rates.Add(tokens / watch.Elapsed.TotalSeconds);
        bytesPerToken.Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)tokens);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
