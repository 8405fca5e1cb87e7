using System.CommandLine;
using System.CommandLine.Parsing;
using Bge.Cli.Commands;
using Bge.Tokenizer;
using Bge.Weights;
using Bge.Weights.Provisioning;

namespace Bge.Cli;

/// <summary>The <c>bge</c> command line: parses, runs, and turns expected failures into one-line messages.</summary>
internal static class CliApp
{
    public static RootCommand Root()
    {
        var root = new RootCommand("bge: BGE text embeddings in pure managed .NET.");
        root.Subcommands.Add(ModelCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(RerankCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(IndexCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }

    /// <summary>
    /// A word that looks like an option (<c>-x</c>, <c>--name</c>) but reached a command's free arguments (the texts
    /// to embed, say) is a mistyped or unknown option, not a text: refused, naming the closest known option. Words
    /// after <c>--</c> are arguments whatever they look like; negative numbers are not options.
    /// </summary>
    internal static string? UnknownOption(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var bound = command.Arguments.SelectMany(a => parse.GetResult(a)?.Tokens ?? []).ToList();
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                return null;
            }

            var word = token.Value;
            if (word.Length < 2 || word[0] != '-' || double.TryParse(word, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
                || !bound.Any(b => ReferenceEquals(b, token)))
            {
                continue;
            }

            var known = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith('-')).Distinct().ToList();
            var name = word.Split('=')[0];
            var closest = known.OrderBy(k => Distance(name, k)).FirstOrDefault();
            var hint = closest is not null && Distance(name, closest) <= Math.Max(2, name.Length / 3) ? $" (did you mean '{closest}'?)" : "";
            var path = string.Join(' ', parse.Tokens.TakeWhile(t => t.Type == TokenType.Command).Select(t => t.Value));
            return $"bge {path}: unknown option '{name}'{hint}; a text that starts with '-' goes after '--'";
        }

        return null;
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var (diagonal, row0) = (row[0], i);
            row[0] = row0;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    public static int Run(string[] args)
    {
        try
        {
            var parse = Root().Parse(args);
            if (UnknownOption(parse) is { } unknown)
            {
                Console.Error.WriteLine(unknown);
                return 2;
            }

            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ModelFormatException or Bge.Core.Search.IndexFormatException or Bge.Weights.Hub.HubException or ModelProvisioningException or TokenizerFormatException
            or InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"bge: {e.Message}");
            return 2;
        }
    }
}
