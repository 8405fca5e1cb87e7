using System.Buffers.Binary;
using Bge.Formats;

namespace Bge.Weights.Onnx;

/// <summary>An ONNX tensor (an initializer or a Constant node's value), its data left in the file's buffer.</summary>
public sealed class OnnxTensor
{
    internal const int Float = 1;
    internal const int Int32 = 6;
    internal const int Int64 = 7;

    private readonly byte[] _buffer;
    private readonly (int Start, int End)? _raw;
    private readonly float[]? _floats;
    private readonly long[]? _longs;
    private readonly string _file;

    internal OnnxTensor(string name, long[] dims, int dataType, byte[] buffer, (int, int)? raw, float[]? floats, long[]? longs, string file)
    {
        Name = name;
        Dims = dims;
        DataType = dataType;
        _buffer = buffer;
        _raw = raw;
        _floats = floats;
        _longs = longs;
        _file = file;
    }

    /// <summary>The tensor's name in the graph.</summary>
    public string Name { get; }

    /// <summary>The tensor's dimensions.</summary>
    public IReadOnlyList<long> Dims { get; }

    /// <summary>The ONNX TensorProto data type (1 = float, 7 = int64, ...).</summary>
    public int DataType { get; }

    /// <summary>Number of elements the dimensions imply.</summary>
    /// <exception cref="ModelFormatException">A dimension is negative, or their product exceeds what an array can hold.</exception>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var d in Dims)
            {
                if (d < 0 || (d > 0 && count > Array.MaxLength / d))
                {
                    throw new ModelFormatException(_file, $"shape [{string.Join(", ", Dims)}] is negative or larger than an array holds", Name);
                }

                count *= d;
            }

            return count;
        }
    }

    /// <summary>The values of a float tensor.</summary>
    /// <exception cref="ModelFormatException">The tensor is not float or its data does not match its shape.</exception>
    public float[] ToFloats()
    {
        if (DataType != Float)
        {
            throw new ModelFormatException(_file, $"expected a float tensor, found ONNX data type {DataType}", Name);
        }

        var count = ElementCount;
        if (_raw is { } raw)
        {
            if ((long)(raw.End - raw.Start) != count * sizeof(float))
            {
                throw new ModelFormatException(_file, $"raw data holds {raw.End - raw.Start} bytes but shape [{string.Join(", ", Dims)}] needs {count * sizeof(float)}", Name, raw.Start);
            }

            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("ONNX raw data is little-endian; big-endian hosts are not supported.");
            }

            var values = new float[count];
            Buffer.BlockCopy(_buffer, raw.Start, values, 0, raw.End - raw.Start);
            return values;
        }

        var floats = _floats ?? [];
        if (floats.Length != count)
        {
            throw new ModelFormatException(_file, $"float_data holds {floats.Length} values but shape [{string.Join(", ", Dims)}] needs {count}", Name);
        }

        return floats;
    }

    /// <summary>The values of an int64 (or int32) tensor.</summary>
    /// <exception cref="ModelFormatException">The tensor is not integer or its data does not match its shape.</exception>
    public long[] ToInt64s()
    {
        if (DataType is not (Int64 or Int32))
        {
            throw new ModelFormatException(_file, $"expected an integer tensor, found ONNX data type {DataType}", Name);
        }

        var count = ElementCount;
        var size = DataType == Int64 ? 8 : 4;
        if (_raw is { } raw)
        {
            if ((long)(raw.End - raw.Start) != count * size)
            {
                throw new ModelFormatException(_file, $"raw data holds {raw.End - raw.Start} bytes but shape needs {count * size}", Name, raw.Start);
            }

            var values = new long[count];
            var bytes = _buffer.AsSpan(raw.Start, raw.End - raw.Start);
            for (var i = 0; i < count; i++)
            {
                values[i] = size == 8
                    ? BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..])
                    : BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
            }

            return values;
        }

        var longs = _longs ?? [];
        if (longs.Length != count)
        {
            throw new ModelFormatException(_file, $"integer data holds {longs.Length} values but shape needs {count}", Name);
        }

        return longs;
    }
}

/// <summary>One node of an ONNX graph.</summary>
/// <param name="Name">The node's name (may be empty).</param>
/// <param name="OpType">The operator, e.g. MatMul.</param>
/// <param name="Inputs">Input value names.</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="FloatAttributes">Float attributes by name (e.g. LayerNormalization's epsilon).</param>
/// <param name="Value">A Constant node's value, if this is one.</param>
public sealed record OnnxNode(
    string Name,
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, float> FloatAttributes,
    OnnxTensor? Value);

/// <summary>
/// The parts of an ONNX model that weight import needs: nodes, initializers and the constants of Constant nodes.
/// Parsed with a bounds-checked protobuf reader; no native code.
/// </summary>
public sealed class OnnxGraph
{
    private OnnxGraph(IReadOnlyList<OnnxNode> nodes, IReadOnlyDictionary<string, OnnxTensor> initializers, string source)
    {
        Nodes = nodes;
        Initializers = initializers;
        Source = source;
    }

    /// <summary>The graph's nodes in file order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The graph's initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Where the model was read from (for error messages).</summary>
    public string Source { get; }

    /// <summary>Reads an ONNX model file.</summary>
    /// <exception cref="ModelFormatException">The file is not a well-formed ONNX model.</exception>
    public static OnnxGraph Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses an ONNX model held in memory.</summary>
    /// <param name="model">The serialized ModelProto.</param>
    /// <param name="source">A name for the model, used in error messages.</param>
    /// <exception cref="ModelFormatException">The bytes are not a well-formed ONNX model.</exception>
    public static OnnxGraph Parse(byte[] model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return ParseProto(model, source);
        }
        catch (ProtoFormatException e)
        {
            throw new ModelFormatException(source, e.Reason, offset: e.Offset, innerException: e);
        }
    }

    private static OnnxGraph ParseProto(byte[] model, string source)
    {
        var reader = new ProtoReader(model, 0, model.Length);
        ProtoReader? graph = null;
        while (reader.TryReadTag(out var field, out var wire))
        {
            if (field == 7 && wire == WireType.LengthDelimited)
            {
                graph = reader.ReadMessage();
            }
            else
            {
                reader.Skip(wire);
            }
        }

        if (graph is not { } g)
        {
            throw new ModelFormatException(source, "no graph in the ONNX model (is this an ONNX file?)");
        }

        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        while (g.TryReadTag(out var field, out var wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                nodes.Add(ReadNode(g.ReadMessage(), model, source));
            }
            else if (field == 5 && wire == WireType.LengthDelimited)
            {
                var tensor = ReadTensor(g.ReadMessage(), model, source);
                initializers[tensor.Name] = tensor;
            }
            else
            {
                g.Skip(wire);
            }
        }

        return new OnnxGraph(nodes, initializers, source);
    }

    private static OnnxNode ReadNode(ProtoReader r, byte[] model, string source)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        string name = "", op = "";
        OnnxTensor? value = null;
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited): inputs.Add(r.ReadString()); break;
                case (2, WireType.LengthDelimited): outputs.Add(r.ReadString()); break;
                case (3, WireType.LengthDelimited): name = r.ReadString(); break;
                case (4, WireType.LengthDelimited): op = r.ReadString(); break;
                case (5, WireType.LengthDelimited):
                    var (attrName, f, t) = ReadAttribute(r.ReadMessage(), model, source);
                    if (f is { } fv)
                    {
                        floats[attrName] = fv;
                    }

                    if (t is not null && attrName == "value")
                    {
                        value = t;
                    }

                    break;
                default: r.Skip(wire); break;
            }
        }

        return new OnnxNode(name, op, inputs, outputs, floats, value);
    }

    private static (string Name, float? Float, OnnxTensor? Tensor) ReadAttribute(ProtoReader r, byte[] model, string source)
    {
        string name = "";
        float? f = null;
        OnnxTensor? t = null;
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited): name = r.ReadString(); break;
                case (2, WireType.Fixed32): f = r.ReadFixed32Float(); break;
                case (5, WireType.LengthDelimited): t = ReadTensor(r.ReadMessage(), model, source); break;
                default: r.Skip(wire); break;
            }
        }

        return (name, f, t);
    }

    private static OnnxTensor ReadTensor(ProtoReader r, byte[] model, string source)
    {
        var start = r.Position;
        var dims = new List<long>();
        var dataType = 0;
        var name = "";
        (int, int)? raw = null;
        List<float>? floats = null;
        List<long>? longs = null;
        var external = false;
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, _): r.ReadInt64s(wire, dims); break;
                case (2, WireType.Varint): dataType = r.ReadInt32(); break;
                case (4, WireType.LengthDelimited):
                    floats ??= [];
                    var packed = r.ReadMessage();
                    while (!packed.AtEnd)
                    {
                        floats.Add(packed.ReadFixed32Float());
                    }

                    break;
                case (4, WireType.Fixed32): (floats ??= []).Add(r.ReadFixed32Float()); break;
                case (5, _) or (7, _): r.ReadInt64s(wire, longs ??= []); break;
                case (8, WireType.LengthDelimited): name = r.ReadString(); break;
                case (9, WireType.LengthDelimited): raw = r.ReadLengthDelimited(); break;
                case (14, WireType.Varint): external = r.ReadVarint() == 1; break;
                default: r.Skip(wire); break;
            }
        }

        if (external)
        {
            throw new ModelFormatException(source, "tensor data is stored in an external file, which this importer does not read", name, start);
        }

        if (dims.Any(d => d < 0))
        {
            throw new ModelFormatException(source, $"negative dimension in [{string.Join(", ", dims)}]", name, start);
        }

        return new OnnxTensor(name, dims.ToArray(), dataType, model, raw, floats?.ToArray(), longs?.ToArray(), source);
    }
}
