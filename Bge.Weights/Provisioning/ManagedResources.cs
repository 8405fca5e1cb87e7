using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Bge.Weights.Provisioning;

/// <summary>
/// Reads managed resources embedded in a .NET assembly file with System.Reflection.Metadata, as data only:
/// the assembly is never loaded and none of its code runs.
/// </summary>
public static class ManagedResources
{
    /// <summary>Names of the managed resources embedded in <paramref name="assemblyPath"/>.</summary>
    /// <exception cref="ModelFormatException">The file is not a readable .NET assembly.</exception>
    public static IReadOnlyList<string> List(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = Metadata(pe, assemblyPath);
        return metadata.ManifestResources.Select(h => metadata.GetString(metadata.GetManifestResource(h).Name)).ToList();
    }

    /// <summary>Reads the one embedded resource whose name ends with <paramref name="nameSuffix"/>.</summary>
    /// <param name="assemblyPath">The assembly file.</param>
    /// <param name="nameSuffix">The end of the resource name, e.g. <c>.model.onnx</c>.</param>
    /// <exception cref="ModelFormatException">No such resource, several, or the file is malformed.</exception>
    public static byte[] Read(string assemblyPath, string nameSuffix)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = Metadata(pe, assemblyPath);
        var matches = metadata.ManifestResources
            .Select(metadata.GetManifestResource)
            .Where(r => metadata.GetString(r.Name).EndsWith(nameSuffix, StringComparison.Ordinal))
            .ToList();
        if (matches.Count != 1)
        {
            throw new ModelFormatException(assemblyPath, $"expected exactly one embedded resource ending in '{nameSuffix}', found {matches.Count}");
        }

        var resource = matches[0];
        if (!resource.Implementation.IsNil)
        {
            throw new ModelFormatException(assemblyPath, $"resource '{metadata.GetString(resource.Name)}' is not embedded in this file");
        }

        var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory
            ?? throw new ModelFormatException(assemblyPath, "no CLI header");
        var block = pe.GetSectionData(directory.RelativeVirtualAddress);
        var offset = resource.Offset;
        if (directory.Size < 4 || offset < 0 || offset > directory.Size - 4 || block.Length < directory.Size)
        {
            throw new ModelFormatException(assemblyPath, "resource offset outside the resources directory", offset: offset);
        }

        var reader = block.GetReader(0, directory.Size);
        reader.Offset = (int)offset;
        var length = reader.ReadInt32();
        if (length < 0 || length > directory.Size - offset - 4)
        {
            throw new ModelFormatException(assemblyPath, $"resource length {length} runs past the resources directory", offset: offset);
        }

        return reader.ReadBytes(length);
    }

    private static MetadataReader Metadata(PEReader pe, string path)
    {
        try
        {
            if (!pe.HasMetadata)
            {
                throw new ModelFormatException(path, "not a .NET assembly (no metadata)");
            }

            return pe.GetMetadataReader();
        }
        catch (BadImageFormatException e)
        {
            throw new ModelFormatException(path, "not a readable .NET assembly: " + e.Message, innerException: e);
        }
    }
}
