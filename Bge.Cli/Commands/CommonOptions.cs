using System.CommandLine;
using Bge.Core;

namespace Bge.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "A model directory (Hub layout) or a provisioned model's name; the default model when omitted.",
    };

    public static Option<int?> MaxLength() => new("--max-length")
    {
        Description = "Maximum tokens per text, the tokenizer's specials included (default: the model's own, e.g. 512 for BERT models, 8192 for bge-m3).",
    };

    public static Option<string?> Input() => new("--input", "-i") { Description = "Read texts from this file ('-' for standard input)." };

    public static Option<string> InputFormat()
    {
        var option = new Option<string>("--input-format")
        {
            Description = "text: one text per line; jsonl: one JSON string (or {\"text\": string}) per line.",
            DefaultValueFactory = _ => "text",
        };
        option.AcceptOnlyFromAmong("text", "jsonl");
        return option;
    }

    public static Option<string?> Precision()
    {
        var option = new Option<string?>("--precision")
        {
            Description = "How the Linear layers' weights are held: fp32 (the reference), bf16 (half the memory and bytes streamed) or int8 (dynamic quantization: a quarter of the bytes, integer arithmetic). Default: as the model stores them (fp32 unless written by 'bge model quantize').",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16", "int8");
        return option;
    }

    /// <summary>The --precision value, or null for the model's own.</summary>
    public static Core.Precision? ParsePrecision(string? value) => value is null ? null : Precisions.Parse(value);

    public static Option<string?> Output() => new("--output", "-o") { Description = "Write results to this file ('-' or omitted: standard output)." };

    public static Option<string> Truncation()
    {
        var option = new Option<string>("--truncation")
        {
            Description = "How a pair too long is cut: longest_first (the longer side first) or only_second.",
            DefaultValueFactory = _ => "longest_first",
        };
        option.AcceptOnlyFromAmong("longest_first", "only_second");
        return option;
    }

    public static Bge.Tokenizer.TruncationStrategy ParseTruncation(string? value) =>
        value == "only_second" ? Bge.Tokenizer.TruncationStrategy.OnlySecond : Bge.Tokenizer.TruncationStrategy.LongestFirst;
}
