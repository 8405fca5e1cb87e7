using System.Security.Cryptography;
using Bge.Reference;

namespace Bge.Tests.Robustness;

/// <summary>
/// A seeded mutation fuzzer: takes valid inputs, mutates them (bit flips, random bytes, deletions, insertions,
/// duplicated chunks, boundary integers, truncation, splices of two seeds) and runs a target on each, for a time
/// budget. A target may throw only its documented exceptions, and may not allocate more than a bounded multiple of
/// its input (so no length read from a file is trusted before it is checked). An input that breaks either rule
/// is saved under <c>Bge.Tests/Robustness/corpus/{target}/</c>, where it stays as a regression case.
/// </summary>
internal static class Fuzzer
{
    /// <summary>Seconds per target: BGE_FUZZ_SECONDS, else 20.</summary>
    public static double Seconds => double.TryParse(Environment.GetEnvironmentVariable("BGE_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 20;

    public static string CorpusOf(string target) => Path.Combine(RepositoryPaths.Root, "Bge.Tests", "Robustness", "corpus", target);

    public sealed record Result(long Executions, long Refused, IReadOnlyList<string> Failures);

    public static Result Run(string target, IReadOnlyList<byte[]> seeds, Action<byte[]> run, Type[] allowed, int seed, double seconds, long allocationPerByte = 32)
    {
        var random = new Random(seed);
        var failures = new List<string>();
        long executions = 0, refused = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds && failures.Count < 5)
        {
            var input = Mutate(seeds, random);
            executions++;
            var outcome = Execute(input, run, allowed, allocationPerByte);
            if (outcome == Outcome.Refused)
            {
                refused++;
            }
            else if (outcome is Outcome.Crash or Outcome.Allocation)
            {
                failures.Add(Save(target, input, outcome.ToString()));
            }
        }

        return new Result(executions, refused, failures);
    }

    public enum Outcome
    {
        Accepted,
        Refused,
        Crash,
        Allocation,
    }

    /// <summary>Runs one input: accepted, refused with an allowed exception, a crash, or too much allocation.</summary>
    public static Outcome Execute(byte[] input, Action<byte[]> run, Type[] allowed, long allocationPerByte = 32)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        Outcome outcome;
        try
        {
            run(input);
            outcome = Outcome.Accepted;
        }
        catch (Exception e) when (allowed.Any(t => t.IsInstanceOfType(e)))
        {
            outcome = Outcome.Refused;
        }
        catch (Exception e)
        {
            LastCrash = e;
            return Outcome.Crash;
        }

        // A fixed allowance for the parser's own structures, plus a bounded multiple of the input.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return allocated > (4L << 20) + (allocationPerByte * input.Length) ? Outcome.Allocation : outcome;
    }

    [ThreadStatic]
    public static Exception? LastCrash;

    private static string Save(string target, byte[] input, string kind)
    {
        var directory = CorpusOf(target);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{kind.ToLowerInvariant()}-{Convert.ToHexStringLower(SHA256.HashData(input))[..16]}.bin");
        File.WriteAllBytes(path, input);
        return $"{kind}: {path} ({LastCrash?.GetType().Name}: {LastCrash?.Message})";
    }

    private const string Punctuation = "0123456789-.eE{}[]\":,\n\r\t \\u";

    private static readonly long[] Boundaries = [0, 1, -1, 127, 128, 255, 256, 32767, 65535, int.MaxValue, uint.MaxValue, long.MaxValue, long.MinValue, 1L << 32, 1L << 40];

    public static byte[] Mutate(IReadOnlyList<byte[]> seeds, Random random)
    {
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        for (var steps = random.Next(1, 6); steps > 0; steps--)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(9))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, random.Next(1, 64)));
                    break;
                case 3:
                    data.InsertRange(at, Enumerable.Range(0, random.Next(1, 16)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4 when data.Count > 0:
                    var length = Math.Min(data.Count - at, random.Next(1, 256));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                case 5 when data.Count >= 8:
                    // A boundary integer, little-endian, 1 to 8 bytes wide: lengths, counts, offsets.
                    var value = BitConverter.GetBytes(Boundaries[random.Next(Boundaries.Length)]);
                    var width = new[] { 1, 2, 4, 8 }[random.Next(4)];
                    at = Math.Min(at, data.Count - width);
                    for (var i = 0; i < width; i++)
                    {
                        data[at + i] = value[i];
                    }

                    break;
                case 6 when data.Count > 0:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 7:
                    var other = seeds[random.Next(seeds.Count)];
                    var from = other.Length == 0 ? 0 : random.Next(other.Length);
                    data.InsertRange(at, other.Skip(from).Take(random.Next(1, 512)));
                    break;
                default:
                    // ASCII digits and JSON/proto punctuation, which text formats react to.
                    data.Insert(at, (byte)Punctuation[random.Next(Punctuation.Length)]);
                    break;
            }
        }

        return [.. data];
    }
}
