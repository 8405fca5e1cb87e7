using Bge.Weights.SafeTensors;
using Bge.Weights.Torch;

namespace Bge.Weights;

/// <summary>Opens a file of tensors in whichever format it holds.</summary>
public static class TensorFiles
{
    /// <summary>
    /// Opens a safetensors file or a PyTorch zip checkpoint, told apart by content: a zip local header means PyTorch,
    /// a JSON header after the 8-byte length means safetensors; otherwise the extension decides (<c>.bin</c>,
    /// <c>.pt</c>, <c>.pth</c>, <c>.ckpt</c>: PyTorch, whose reader explains legacy files), else safetensors.
    /// </summary>
    /// <exception cref="ModelFormatException">The file is not valid in the format it was taken to be.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static ITensorFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Span<byte> start = stackalloc byte[9];
        int read;
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            read = RandomAccess.Read(handle, start, 0);
        }

        start = start[..read];
        if (start.StartsWith("PK\x03\x04"u8))
        {
            return TorchCheckpoint.Open(path);
        }

        var torchName = Path.GetExtension(path).ToLowerInvariant() is ".bin" or ".pt" or ".pth" or ".ckpt";
        return torchName && !(start.Length == 9 && start[8] == (byte)'{') ? TorchCheckpoint.Open(path) : SafeTensorsFile.Open(path);
    }
}
