using Bge.Weights.SafeTensors;

namespace Bge.Weights.Torch;

// What the unpickler builds. Python's None, bool, int, float and str become null, bool, long, double and string;
// lists become List<object?>; everything else is one of the types below, none of which can be called.

/// <summary>A Python tuple.</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A dict or OrderedDict, in insertion order. Keys are not hashed: a state dict's are checked by its reader.</summary>
internal sealed class PickleDict(bool ordered)
{
    public bool Ordered { get; } = ordered;

    public List<KeyValuePair<object?, object?>> Items { get; } = [];
}

/// <summary>A global the allowlist admitted; only <see cref="AllowedGlobals.Reduce"/> gives it meaning.</summary>
internal sealed record PickleGlobal(string Name, AllowedGlobal Kind, TensorDType StorageType);

/// <summary>A persistent id <c>('storage', storage_type, key, location, numel)</c>: the record <c>data/{key}</c>.</summary>
internal sealed record StorageRef(TensorDType DType, string Key, string Location, long ElementCount);

/// <summary>What <c>_rebuild_tensor_v2(storage, offset, size, stride, …)</c> would have built, unchecked.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

/// <summary>Human names of pickled values for messages; never recurses into containers.</summary>
internal static class PickleNames
{
    public static string Of(object? value) => value switch
    {
        null => "None",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PickleTuple t => $"tuple of {t.Items.Length}",
        PickleDict d => d.Ordered ? "OrderedDict" : "dict",
        PickleGlobal g => g.Name,
        StorageRef => "storage",
        TensorRef => "tensor",
        _ => value.GetType().Name,
    };
}
