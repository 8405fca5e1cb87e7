using System.Globalization;
using BenchmarkDotNet.Running;
using Bge.Benchmarks;

// compare [--threads N] [--seconds S] [--rounds R] [--bert-base] [--cases encoder,stsb,rerank,text,gemm]: ours beside
// ONNX Runtime at fp32, every case (encoder tok/s at 1×16, 8×128, 32×128, 1×512; STS-B sentences/s; one query against
// 100 passages through a cross-encoder head, pair tok/s; one short text's p50/p99, GCs and bytes per call,
// load ms, peak MB) run R times (at least 3, the default) per engine, each time in a fresh child process while the
// other engine is idle, the ratios being medians of the rounds' ratios with their spread (--bert-base adds the random
// BERT-base-shaped model); compare --precision int8|bf16: likewise ours at that precision, ours at fp32, ONNX Runtime
// at fp32 and, for int8, its own int8, with STS-B Spearman on both models (no --bert-base);
// compare-probe ENGINE MODEL PRECISION CASE THREADS SECONDS: the child;
// stream [--count N]: working set while streaming N texts;
// long [--threads N] [--rounds R] [--lengths 512,2048,8192]: long inputs, each engine in its own process (long-probe is
// the child); long-attention [--threads N] [--repeats R] [--lengths ...] [--tiles 256,512]: the attention kernel alone;
// ort-serve [--port P] and serve-baseline [--text T] [--seconds S]: used by serve-load.sh (the server load test);
// kernels [--threads N] [--seconds S] [--shapes MxKxN,...]: the GEMM alone, fp32 beside every int8 kernel this CPU runs;
// tokenize [--rounds N]: our SentencePiece tokenizer's tokens/s beside Microsoft.ML.Tokenizers' on the shared xlmr texts;
// retention [--models snowflake-arctic-embed-xs,all-MiniLM-L6-v2] [--rescore-multiplier 4]: quality kept by each
// Matryoshka dimension × float32/int8/binary × rescoring on SQuAD and STS-B paraphrase retrieval;
// search-speed [--count 1000000] [--dimension 384] [--queries 50] [--rescore-multiplier 4] [--rounds 1]: queries/s and resident bytes
// per vector, float32 exact beside int8 and binary codes with rescoring (synthetic vectors);
// anything else goes to BenchmarkDotNet (e.g. --filter '*Encoder*').
if (args.Length > 0 && args[0] == "compare")
{
    var threads = Option("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : Environment.ProcessorCount;
    var seconds = Option("--seconds") is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : 0.4;
    var rounds = int.Parse(Option("--rounds") ?? "3", CultureInfo.InvariantCulture);
    var precision = Option("--precision") is { } p ? Bge.Core.Precisions.Parse(p) : Bge.Core.Precision.Fp32;
    return Compare.Run(threads, seconds, rounds, precision, args.Contains("--bert-base"), Option("--cases")?.Split(','));
}

if (args.Length == 7 && args[0] == "compare-probe")
{
    return CompareProbe.Run(args[1], args[2], args[3], args[4], int.Parse(args[5], CultureInfo.InvariantCulture), double.Parse(args[6], CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "kernels")
{
    var threads = Option("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : Environment.ProcessorCount;
    var shapes = Option("--shapes") is { } list
        ? list.Split(',').Select(shape => shape.Split('x').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray()).Select(d => (d[0], d[1], d[2])).ToArray()
        : GemmKernels.Shapes;
    return GemmKernels.Run(threads, Option("--seconds") is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : 1, shapes);
}

if (args.Length > 0 && args[0] == "retention")
{
    return Retention.Run((Option("--models") ?? "snowflake-arctic-embed-xs,all-MiniLM-L6-v2").Split(','), int.Parse(Option("--rescore-multiplier") ?? "4", CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "search-speed")
{
    int Int(string name, string fallback) => int.Parse(Option(name) ?? fallback, CultureInfo.InvariantCulture);
    return CompressedSearchSpeed.Run(Int("--count", "1000000"), Int("--dimension", "384"), Int("--queries", "50"), Int("--rescore-multiplier", "4"), Path.GetTempPath(), Int("--rounds", "1"));
}

if (args.Length > 0 && args[0] == "stream")
{
    var count = Option("--count") is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 100_000;
    var threads = Option("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : Environment.ProcessorCount;
    return StreamProbe.Run(count, threads);
}

if (args.Length > 0 && args[0] is "long" or "long-attention")
{
    var threads = Option("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : Environment.ProcessorCount;
    var lengths = (Option("--lengths") ?? "512,2048,8192").Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
    return args[0] == "long"
        ? LongInputs.Run(threads, int.Parse(Option("--rounds") ?? "3", CultureInfo.InvariantCulture), lengths)
        : LongInputs.Kernel(threads, int.Parse(Option("--repeats") ?? "5", CultureInfo.InvariantCulture), lengths,
            Option("--tiles") is { } tiles ? [.. tiles.Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture))] : [Bge.Core.Kernels.Attention.KeyTile]);
}

if (args.Length == 5 && args[0] == "long-probe")
{
    return LongInputs.ProbeChild(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "ort-serve")
{
    return OrtServe.Run(int.Parse(Option("--port") ?? "8081", CultureInfo.InvariantCulture), Environment.ProcessorCount);
}

if (args.Length > 0 && args[0] == "serve-baseline")
{
    return OrtServe.Baseline(Option("--text") ?? "I love machine learning and nlp", double.Parse(Option("--seconds") ?? "10", CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] == "tokenize")
{
    return TokenizerThroughput.Run(int.Parse(Option("--rounds") ?? "7", CultureInfo.InvariantCulture));
}

BenchmarkSwitcher.FromAssembly(typeof(Compare).Assembly).Run(args);
return 0;

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
