using System.Runtime.InteropServices;
using System.Text;
using Bge.Weights;

namespace Bge.Reference;

// Compiled into both Bge.Tests and Bge.Benchmarks: writes an ONNX graph of a Encoder from the very tensors
// our engine loads, so ONNX Runtime can run the identical model (the BERT-base-shaped benchmark has no export
// of its own). The graph follows what torch.onnx exports for transformers' Encoder — Gather embeddings,
// MatMul + Add projections, Reshape/Transpose heads, Div by √d, additive mask, Softmax, erf GELU — with
// LayerNormalization (opset 17) written as one op, which is what ONNX Runtime fuses the exported pattern into.
// With int8 set, every Linear becomes what onnxruntime.quantization.quantize_dynamic writes by default: the weight
// as per-tensor symmetric int8 (scale max |w| / 127, zero point 0) and com.microsoft's DynamicQuantizeMatMul, which
// quantizes the activations to uint8 at run time and adds the bias. reduceRange keeps the weights to 7 bits (±63),
// as quantize_dynamic(reduce_range=True) does, so that u8 × s8 pair sums cannot saturate int16 on CPUs without VNNI.

/// <summary>An ONNX ModelProto of a Encoder with last_hidden_state as its output.</summary>
internal static class OnnxBertExport
{
    private const int FloatType = 1;
    private const int Int8Type = 3;
    private const int Int64Type = 7;
    private const string MicrosoftDomain = "com.microsoft";

    public static byte[] Build(EncoderConfig config, IReadOnlyDictionary<string, (long[] Shape, float[] Values)> tensors, bool int8 = false, bool reduceRange = false)
    {
        var graph = new Proto();
        var nodes = new List<Proto>();
        var initializers = new List<Proto>();
        var counter = 0;

        string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
            NamedNode($"{op.ToLowerInvariant()}_{counter++}", op, inputs, attributes);

        string NamedNode(string output, string op, string[] inputs, params (string Name, object Value)[] attributes) =>
            DomainNode(output, op, "", inputs, attributes);

        string DomainNode(string output, string op, string domain, string[] inputs, params (string Name, object Value)[] attributes)
        {
            var node = new Proto();
            foreach (var input in inputs)
            {
                node.String(1, input);
            }

            node.String(2, output).String(3, output).String(4, op);
            if (domain.Length > 0)
            {
                node.String(7, domain);
            }
            foreach (var (name, value) in attributes)
            {
                var attribute = new Proto().String(1, name);
                switch (value)
                {
                    case float f:
                        attribute.Float(2, f).Varint(20, 1);
                        break;
                    case long i:
                        attribute.Varint(3, i).Varint(20, 2);
                        break;
                    case long[] ints:
                        foreach (var v in ints)
                        {
                            attribute.Varint(8, v);
                        }

                        attribute.Varint(20, 7);
                        break;
                    default:
                        throw new ArgumentException($"attribute {name}: unsupported type {value.GetType()}");
                }

                node.Message(5, attribute);
            }

            nodes.Add(node);
            return output;
        }

        string Initializer(string name, long[] dims, int type, ReadOnlySpan<byte> raw)
        {
            var tensor = new Proto();
            foreach (var d in dims)
            {
                tensor.Varint(1, d);
            }

            initializers.Add(tensor.Varint(2, type).String(8, name).Bytes(9, raw));
            return name;
        }

        string Floats(string name, long[] dims, float[] values) => Initializer(name, dims, FloatType, MemoryMarshal.AsBytes(values.AsSpan()));
        string Longs(string name, params long[] values) => Initializer(name, [values.Length], Int64Type, MemoryMarshal.AsBytes(values.AsSpan()));
        string LongScalar(string name, long value) => Initializer(name, [], Int64Type, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
        string Scalar(string name, float value) => Initializer(name, [], FloatType, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
        string Weight(string name) => Floats(name, tensors[name].Shape, tensors[name].Values);

        // A Linear's weight is [out × in]; MatMul wants [in × out].
        float[] Transpose(string name)
        {
            var (shape, values) = tensors[name];
            long rows = shape[0], cols = shape[1];
            var t = new float[values.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    t[(c * rows) + r] = values[(r * cols) + c];
                }
            }

            return t;
        }

        string Transposed(string name) => Floats(name + ".T", [tensors[name].Shape[1], tensors[name].Shape[0]], Transpose(name));

        string QuantizedLinear(string input, string prefix)
        {
            var name = prefix + ".weight";
            var t = Transpose(name);
            var max = t.Length == 0 ? 0 : t.Max(MathF.Abs);
            var limit = reduceRange ? 63 : 127;
            var scale = max == 0 ? 1f : max / limit;
            var q = t.Select(v => (sbyte)Math.Clamp(MathF.Round(v / scale), -limit, limit)).ToArray();
            var weight = Initializer(name + ".T.int8", [tensors[name].Shape[1], tensors[name].Shape[0]], Int8Type, MemoryMarshal.AsBytes(q.AsSpan()));
            var zero = Initializer(name + ".zero_point", [], Int8Type, [0]);
            return DomainNode($"dqmm_{counter++}", "DynamicQuantizeMatMul", MicrosoftDomain, [input, weight, Scalar(name + ".scale", scale), zero, Weight(prefix + ".bias")]);
        }

        string Linear(string input, string prefix) => int8
            ? QuantizedLinear(input, prefix)
            : Node("Add", [Node("MatMul", [input, Transposed(prefix + ".weight")]), Weight(prefix + ".bias")]);
        string LayerNorm(string input, string prefix) =>
            Node("LayerNormalization", [input, Weight(prefix + ".weight"), Weight(prefix + ".bias")], ("axis", -1L), ("epsilon", (float)config.LayerNormEps));

        // (B,T) ids → (B,T,H): word + position + token type, then LayerNorm.
        var length = Node("Gather", [Node("Shape", ["input_ids"]), LongScalar("one_index", 1)]);
        var positions = Node("Range", [LongScalar("zero", 0), length, LongScalar("step", 1)]);
        var e = EncoderTensorNames.Embeddings;
        var sum = Node("Add", [Node("Add", [Node("Gather", [Weight(e[0]), "input_ids"]), Node("Gather", [Weight(e[2]), "token_type_ids"])]),
            Node("Gather", [Weight(e[1]), positions])]);
        var x = LayerNorm(sum, "embeddings.LayerNorm");

        // (B,T) mask → (B,1,1,T) additive bias: 0 where attended, float.MinValue where padded.
        var maskFloat = Node("Cast", [Node("Unsqueeze", ["attention_mask", Longs("axes12", 1, 2)])], ("to", (long)FloatType));
        var bias = Node("Mul", [Node("Sub", [Scalar("one", 1f), maskFloat]), Scalar("min", float.MinValue)]);

        var heads = Longs("heads_shape", 0, 0, config.NumAttentionHeads, config.HeadSize);
        var merged = Longs("merged_shape", 0, 0, config.HiddenSize);
        var scale = Scalar("sqrt_head_size", MathF.Sqrt(config.HeadSize));
        var (sqrt2, one, half) = (Scalar("sqrt2", MathF.Sqrt(2f)), Scalar("one_gelu", 1f), Scalar("half", 0.5f));
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var p = EncoderTensorNames.Layer(layer);
            string Split(string t, long[] perm) => Node("Transpose", [Node("Reshape", [t, heads])], ("perm", perm));
            var q = Split(Linear(x, p + "attention.self.query"), [0, 2, 1, 3]);   // (B,nh,T,d)
            var k = Split(Linear(x, p + "attention.self.key"), [0, 2, 3, 1]);     // (B,nh,d,T)
            var v = Split(Linear(x, p + "attention.self.value"), [0, 2, 1, 3]);   // (B,nh,T,d)
            var scores = Node("Add", [Node("Div", [Node("MatMul", [q, k]), scale]), bias]);
            var context = Node("MatMul", [Node("Softmax", [scores], ("axis", -1L)), v]);
            var joined = Node("Reshape", [Node("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 })), merged]);
            var attention = LayerNorm(Node("Add", [Linear(joined, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm");
            var up = Linear(attention, p + "intermediate.dense");
            var gelu = Node("Mul", [Node("Mul", [up, Node("Add", [Node("Erf", [Node("Div", [up, sqrt2])]), one])]), half]);
            x = LayerNorm(Node("Add", [Linear(gelu, p + "output.dense"), attention]), p + "output.LayerNorm");
        }

        NamedNode("last_hidden_state", "Identity", [x]);

        foreach (var node in nodes)
        {
            graph.Message(1, node);
        }

        graph.String(2, "bert");
        foreach (var initializer in initializers)
        {
            graph.Message(5, initializer);
        }

        foreach (var input in new[] { "input_ids", "attention_mask", "token_type_ids" })
        {
            graph.Message(11, ValueInfo(input, Int64Type, "batch", "sequence"));
        }

        graph.Message(12, ValueInfo("last_hidden_state", FloatType, "batch", "sequence", config.HiddenSize));
        var model = new Proto().Varint(1, 8).String(2, "bge-benchmarks").Message(7, graph).Message(8, new Proto().String(1, "").Varint(2, 17));
        if (int8)
        {
            model.Message(8, new Proto().String(1, MicrosoftDomain).Varint(2, 1));
        }

        return model.ToArray();
    }

    private static Proto ValueInfo(string name, int elementType, params object[] dims)
    {
        var shape = new Proto();
        foreach (var dim in dims)
        {
            shape.Message(1, dim is string symbol ? new Proto().String(2, symbol) : new Proto().Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture)));
        }

        var tensorType = new Proto().Varint(1, elementType).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType));
    }

    /// <summary>A protobuf message being written: fields appended in order.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _stream = new();

        public Proto Varint(int field, long value) => Tag(field, 0).Raw((ulong)value);

        public Proto Float(int field, float value)
        {
            Tag(field, 5);
            Span<byte> bytes = stackalloc byte[4];
            BitConverter.TryWriteBytes(bytes, value);
            _stream.Write(bytes);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Bytes(int field, ReadOnlySpan<byte> value)
        {
            Tag(field, 2).Raw((ulong)value.Length);
            _stream.Write(value);
            return this;
        }

        public Proto Message(int field, Proto message) => Bytes(field, message._stream.GetBuffer().AsSpan(0, (int)message._stream.Length));

        public byte[] ToArray() => _stream.ToArray();

        private Proto Tag(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

        private Proto Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _stream.WriteByte((byte)value);
            return this;
        }
    }
}
