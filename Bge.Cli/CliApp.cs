using System.CommandLine;
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
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        return root;
    }

    public static int Run(string[] args)
    {
        try
        {
            return Root().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ModelFormatException or Bge.Core.Search.IndexFormatException or Bge.Weights.Hub.HubException or ModelProvisioningException or VocabularyException
            or InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"bge: {e.Message}");
            return 2;
        }
    }
}
