using System.CommandLine;
using Bge.Cli.Commands;
using Bge.Weights;
using Bge.Weights.Provisioning;

var root = new RootCommand("bge: BGE text embeddings in pure managed .NET.");
root.Subcommands.Add(ModelCommand.Create());

try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ModelFormatException or ModelProvisioningException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"bge: {e.Message}");
    return 2;
}
