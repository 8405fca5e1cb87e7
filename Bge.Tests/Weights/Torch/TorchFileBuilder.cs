using System.Text;

namespace Bge.Tests.Weights.Torch;

/// <summary>
/// Builds PyTorch zip checkpoints the way torch.save lays them out (protocol 2 with GLOBAL, or protocol 4 with
/// STACK_GLOBAL, MEMOIZE and FRAME), with hooks for the hostile and malformed variants the tests need.
/// </summary>
internal sealed class TorchFileBuilder
{
    private readonly List<(string Name, Action<PickleWriter> Value)> _entries = [];

    public string Prefix { get; init; } = "archive/";

    public string? ByteOrder { get; init; } = "little";

    public string? Version { get; init; } = "3";

    /// <summary>Protocol 4's opcodes (STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE, FRAME) instead of protocol 2's.</summary>
    public bool Protocol4 { get; init; }

    public bool Zip64 { get; init; }

    public Dictionary<string, byte[]> Storages { get; } = [];

    public static int SizeOf(string storage) => storage switch
    {
        "Double" or "Long" => 8,
        "Float" or "Int" => 4,
        "Half" or "BFloat16" or "Short" => 2,
        _ => 1,
    };

    /// <summary>A tensor whose bytes are a storage of their own, under the next free key.</summary>
    public TorchFileBuilder Add(string name, string storage, long[] shape, byte[] bytes)
    {
        var key = Storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Storages[key] = bytes;
        return Add(name, storage, key, shape, Contiguous(shape), offset: 0);
    }

    public TorchFileBuilder AddFloats(string name, long[] shape, float[] values) =>
        Add(name, "Float", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A tensor over an existing (or later added) storage, exactly as described.</summary>
    public TorchFileBuilder Add(string name, string storage, string key, long[] shape, long[] stride, long offset, long? declaredCount = null, bool parameter = false, int arguments = 6)
    {
        _entries.Add((name, w =>
        {
            if (parameter)
            {
                Global(w, "torch._utils._rebuild_parameter").Mark();
            }

            Global(w, "torch._utils._rebuild_tensor_v2").Mark();
            w.Mark().Str("storage");
            Global(w, $"torch.{storage}Storage").Str(key).Str("cpu").Int(declaredCount ?? Storages[key].Length / SizeOf(storage)).Raw(0x74);
            w.Raw(0x51).Int(offset).Tuple(shape).Tuple(stride).Bool(false);
            EmptyOrderedDict(w);
            if (arguments == 7)
            {
                EmptyOrderedDict(w);
            }

            w.Raw(0x74).Reduce();
            if (parameter)
            {
                w.Bool(true);
                EmptyOrderedDict(w);
                w.Raw(0x74).Reduce();
            }
        }));
        return this;
    }

    /// <summary>An entry whose value the caller writes (a hostile call, a non-tensor).</summary>
    public TorchFileBuilder AddRaw(string name, Action<PickleWriter> value)
    {
        _entries.Add((name, value));
        return this;
    }

    public static long[] Contiguous(long[] shape)
    {
        var stride = new long[shape.Length];
        long step = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = step;
            step *= shape[i];
        }

        return stride;
    }

    public byte[] Pickle()
    {
        var body = new PickleWriter();
        EmptyOrderedDict(body).Mark();
        foreach (var (name, value) in _entries)
        {
            Text(body, name);
            value(body);
        }

        body.Raw(0x75);
        body.Raw(0x7d);
        Text(body, "_metadata");
        EmptyOrderedDict(body).Mark();
        Text(body, "");
        body.Raw(0x7d);
        Text(body, "version").Int(1).Raw(0x73).Raw(0x75).Raw(0x73).Raw(0x62).Stop();
        var head = new PickleWriter().Proto(Protocol4 ? (byte)4 : (byte)2);
        if (Protocol4)
        {
            head.Raw(0x95).UInt64((ulong)body.Length);
        }

        return [.. head.ToArray(), .. body.ToArray()];
    }

    public List<ZipWriter.Record> Records(byte[]? pickle = null)
    {
        var records = new List<ZipWriter.Record>
        {
            new(Prefix + "data.pkl", pickle ?? Pickle()),
            new(Prefix + ".format_version", "1"u8.ToArray()),
            new(Prefix + ".storage_alignment", "64"u8.ToArray()),
        };
        if (ByteOrder is not null)
        {
            records.Add(new(Prefix + "byteorder", Encoding.ASCII.GetBytes(ByteOrder)));
        }

        records.AddRange(Storages.Select(s => new ZipWriter.Record(Prefix + "data/" + s.Key, s.Value)));
        if (Version is not null)
        {
            records.Add(new(Prefix + "version", Encoding.ASCII.GetBytes(Version + "\n")));
        }

        records.Add(new(Prefix + ".data/serialization_id", Encoding.ASCII.GetBytes(new string('7', 40))));
        return records;
    }

    public byte[] Build(byte[]? pickle = null) => ZipWriter.Write(Records(pickle), Zip64);

    public string Write(string directory, string fileName = "pytorch_model.bin", byte[]? pickle = null)
    {
        var path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, Build(pickle));
        return path;
    }

    private PickleWriter Global(PickleWriter w, string dotted)
    {
        w.Global(dotted, Protocol4);
        return Protocol4 ? w.Memoize() : w.Put();
    }

    private PickleWriter Text(PickleWriter w, string text) => Protocol4 && text.Length < 200 ? w.ShortStr(text).Memoize() : w.Str(text);

    private PickleWriter EmptyOrderedDict(PickleWriter w) => Global(w, "collections.OrderedDict").EmptyTuple().Reduce();
}
