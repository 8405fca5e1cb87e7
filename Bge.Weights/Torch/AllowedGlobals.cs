using Bge.Weights.SafeTensors;

namespace Bge.Weights.Torch;

/// <summary>What an allowed global is; each kind has one fixed construction in <see cref="AllowedGlobals.Reduce"/>.</summary>
internal enum AllowedGlobal
{
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage,
}

/// <summary>
/// The only globals a checkpoint may name: those a plain state dict is made of (torch.load(weights_only=True) admits
/// these and more). A REDUCE on one of them builds a typed value here; nothing is looked up by name or invoked.
/// </summary>
internal static class AllowedGlobals
{
    private static readonly Dictionary<string, PickleGlobal> Table = Build(
        // Every state dict is one, and torch.save pickles tensors' empty backward hooks as one.
        ("collections.OrderedDict", AllowedGlobal.OrderedDict, default),
        // How torch.save (1.6+) writes every tensor.
        ("torch._utils._rebuild_tensor_v2", AllowedGlobal.RebuildTensorV2, default),
        // How it writes an nn.Parameter saved directly rather than through state_dict(): the tensor inside.
        ("torch._utils._rebuild_parameter", AllowedGlobal.RebuildParameter, default),
        // Storage classes appear only inside persistent ids, where they give the element type.
        ("torch.FloatStorage", AllowedGlobal.Storage, TensorDType.F32),
        ("torch.HalfStorage", AllowedGlobal.Storage, TensorDType.F16),
        ("torch.BFloat16Storage", AllowedGlobal.Storage, TensorDType.BF16),
        ("torch.DoubleStorage", AllowedGlobal.Storage, TensorDType.F64),
        ("torch.LongStorage", AllowedGlobal.Storage, TensorDType.I64),
        ("torch.IntStorage", AllowedGlobal.Storage, TensorDType.I32),
        ("torch.ShortStorage", AllowedGlobal.Storage, TensorDType.I16),
        ("torch.CharStorage", AllowedGlobal.Storage, TensorDType.I8),
        ("torch.ByteStorage", AllowedGlobal.Storage, TensorDType.U8),
        ("torch.BoolStorage", AllowedGlobal.Storage, TensorDType.BOOL));

    public static PickleGlobal? Find(string module, string name) =>
        Table.GetValueOrDefault(module + "." + name);

    /// <summary>The value <c>callable(*args)</c> would have been; null, with the reason, if the call is refused.</summary>
    public static object? Reduce(PickleGlobal callable, PickleTuple args, out string? refusal)
    {
        var items = args.Items;
        refusal = null;
        switch (callable.Kind)
        {
            case AllowedGlobal.OrderedDict when items.Length == 0:
                return new PickleDict(ordered: true);
            case AllowedGlobal.RebuildTensorV2 when items.Length is 6 or 7:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]); the last three do not shape the data.
                if (items[0] is StorageRef storage && items[1] is long offset && Dims(items[2]) is { } shape && Dims(items[3]) is { } stride && items[4] is bool)
                {
                    return new TensorRef(storage, offset, shape, stride);
                }

                refusal = $"_rebuild_tensor_v2 takes (storage, int, tuple of ints, tuple of ints, bool, ...), not ({string.Join(", ", items.Take(5).Select(PickleNames.Of))}, ...)";
                return null;
            case AllowedGlobal.RebuildParameter when items.Length == 3:
                // (data, requires_grad, backward_hooks)
                if (items[0] is TensorRef tensor && items[1] is bool)
                {
                    return tensor;
                }

                refusal = $"_rebuild_parameter takes (tensor, bool, hooks), not ({PickleNames.Of(items[0])}, {PickleNames.Of(items[1])}, ...)";
                return null;
            case AllowedGlobal.Storage:
                refusal = $"{callable.Name} is called; storages come only from persistent ids";
                return null;
            default:
                refusal = $"{callable.Name} does not take {items.Length} arguments";
                return null;
        }
    }

    /// <summary>
    /// What torch's persistent_load would return for <c>('storage', storage_type, key, location, numel)</c>: a
    /// reference to the record <c>data/{key}</c>, not yet checked against it; null, with the reason, otherwise.
    /// </summary>
    public static StorageRef? Persistent(object? id, out string? refusal)
    {
        refusal = null;
        if (id is PickleTuple { Items: ["storage", PickleGlobal { Kind: AllowedGlobal.Storage } type, string key, string location, long count] })
        {
            if (count >= 0)
            {
                return new StorageRef(type.StorageType, key, location, count);
            }

            refusal = $"storage '{key}' declares {count} elements";
            return null;
        }

        refusal = $"persistent id is a {PickleNames.Of(id)}, not ('storage', storage class, key, location, element count)";
        return null;
    }

    private static long[]? Dims(object? value)
    {
        if (value is not PickleTuple tuple)
        {
            return null;
        }

        var dims = new long[tuple.Items.Length];
        for (var i = 0; i < dims.Length; i++)
        {
            if (tuple.Items[i] is not long d)
            {
                return null;
            }

            dims[i] = d;
        }

        return dims;
    }

    private static Dictionary<string, PickleGlobal> Build(params (string Name, AllowedGlobal Kind, TensorDType Storage)[] entries) =>
        entries.ToDictionary(e => e.Name, e => new PickleGlobal(e.Name, e.Kind, e.Storage), StringComparer.Ordinal);
}
