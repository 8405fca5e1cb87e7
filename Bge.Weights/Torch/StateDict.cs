using Bge.Weights.SafeTensors;

namespace Bge.Weights.Torch;

/// <summary>
/// Turns an unpickled state dict (names to <see cref="TensorRef"/>) into tensors placed in the file: each one's
/// storage record must exist and hold its storage, and each tensor must be a contiguous row-major run inside it,
/// so that its bytes can be served as they are stored.
/// </summary>
internal static class StateDict
{
    public static Dictionary<string, TensorInfo> Place(object? root, IReadOnlyDictionary<string, ZipEntry> records, string prefix, string path)
    {
        if (root is not PickleDict dict)
        {
            throw new ModelFormatException(path, $"{prefix}data.pkl holds a {PickleNames.Of(root)}, not a state dict (a dict of names to tensors)");
        }

        var tensors = new Dictionary<string, TensorInfo>(dict.Items.Count, StringComparer.Ordinal);
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name)
            {
                throw new ModelFormatException(path, $"state dict key is a {PickleNames.Of(key)}, not a str");
            }

            if (value is not TensorRef tensor)
            {
                throw new ModelFormatException(path, $"is a {PickleNames.Of(value)} in the state dict, not a tensor", name);
            }

            if (!tensors.TryAdd(name, Place(tensor, name, records, prefix, path)))
            {
                throw new ModelFormatException(path, "appears twice in the state dict", name);
            }
        }

        return tensors;
    }

    private static TensorInfo Place(TensorRef tensor, string name, IReadOnlyDictionary<string, ZipEntry> records, string prefix, string path)
    {
        var storage = tensor.Storage;
        var recordName = $"{prefix}data/{storage.Key}";
        if (!records.TryGetValue(recordName, out var record))
        {
            throw new ModelFormatException(path, $"its storage record '{recordName}' is missing", name);
        }

        var size = storage.DType.SizeOf();
        if (storage.ElementCount > record.Length / size)
        {
            throw new ModelFormatException(path, $"storage '{recordName}' declares {storage.ElementCount} {storage.DType} elements but holds {record.Length} bytes", name, record.DataOffset);
        }

        var count = ElementCount(tensor.Shape, name, path);
        if (tensor.Shape.Length != tensor.Stride.Length || !IsContiguous(tensor.Shape, tensor.Stride))
        {
            throw new ModelFormatException(path, $"has shape [{string.Join(", ", tensor.Shape)}] with strides ({string.Join(", ", tensor.Stride)}), not contiguous row-major; save tensor.contiguous()", name);
        }

        if (tensor.Offset < 0 || tensor.Offset > storage.ElementCount || count > storage.ElementCount - tensor.Offset)
        {
            throw new ModelFormatException(path, $"elements {tensor.Offset}..{tensor.Offset + count} lie outside its storage of {storage.ElementCount}", name, record.DataOffset);
        }

        var begin = record.DataOffset + (tensor.Offset * size);
        return new TensorInfo(name, storage.DType, tensor.Shape, begin, begin + (count * size));
    }

    private static long ElementCount(long[] shape, string name, string path)
    {
        if (shape.Any(d => d < 0))
        {
            throw new ModelFormatException(path, $"has a negative dimension in [{string.Join(", ", shape)}]", name);
        }

        if (shape.Contains(0))
        {
            return 0;
        }

        long count = 1;
        foreach (var d in shape)
        {
            if (count > long.MaxValue / d)
            {
                throw new ModelFormatException(path, $"shape [{string.Join(", ", shape)}] has more than 2^63 elements", name);
            }

            count *= d;
        }

        return count;
    }

    /// <summary>Row-major strides; as in torch's is_contiguous, a dimension of size 1 may have any stride, and an empty tensor any.</summary>
    private static bool IsContiguous(long[] shape, long[] stride)
    {
        if (shape.Contains(0))
        {
            return true;
        }

        long expected = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && stride[i] != expected)
            {
                return false;
            }

            expected *= shape[i];
        }

        return true;
    }
}
