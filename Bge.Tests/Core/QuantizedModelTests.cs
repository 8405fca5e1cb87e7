using Bge.Core;
using Bge.Core.Kernels;
using Bge.Core.Model;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Tests.Core;

/// <summary>
/// Model directories written by <see cref="ModelQuantizer"/>: they load at their precision and embed exactly as the
/// same precision chosen at load does; a file that names an unknown scheme, or whose int8 tensors or scales are
/// missing, mis-shaped or out of range, is refused with a <see cref="ModelFormatException"/> naming the tensor.
/// </summary>
public sealed class QuantizedModelTests
{
    private static readonly string[] Texts =
    [
        "A man is playing a guitar.",
        "what is the capital of France?",
        "Paris is the capital and most populous city of France.",
        "x",
    ];

    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("bge-quantized-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public void AQuantizedDirectoryLoadsAtItsPrecisionAndEmbedsAsQuantizingAtLoadDoes([Values(Precision.Int8, Precision.Bf16)] Precision precision)
    {
        var source = ModelDirectory.Open(TestPaths.Arctic);
        var directory = Path.Combine(_root, "arctic-" + Precisions.Name(precision));
        ModelQuantizer.Write(source, directory, precision);

        using (var file = SafeTensorsFile.Open(Path.Combine(directory, "model.safetensors")))
        {
            Assert.That(file.Metadata[QuantizedWeights.MetadataKey], Is.EqualTo(precision == Precision.Int8 ? QuantizedWeights.Int8 : QuantizedWeights.Bf16));
            var query = file.Tensors["encoder.layer.0.attention.self.query.weight"];
            Assert.That(query.DType, Is.EqualTo(precision == Precision.Int8 ? TensorDType.I8 : TensorDType.BF16));
            Assert.That(file.Tensors["embeddings.word_embeddings.weight"].DType, Is.EqualTo(TensorDType.BF16), "the word table as either precision holds it");
            Assert.That(file.Tensors["embeddings.position_embeddings.weight"].DType, Is.EqualTo(TensorDType.F32));
        }

        Assert.That(new FileInfo(Path.Combine(directory, "model.safetensors")).Length, Is.LessThan(source.WeightFiles.Sum(f => new FileInfo(f).Length) * (precision == Precision.Int8 ? 0.4 : 0.55)));
        Assert.That(File.ReadAllText(Path.Combine(directory, "vocab.txt")), Is.EqualTo(File.ReadAllText(source.VocabPath!)));

        var stored = Embedder.Load(directory, new EmbedderOptions { Warning = _ => { } });
        var atLoad = Embedder.Load(TestPaths.Arctic, new EmbedderOptions { Warning = _ => { }, Precision = precision });
        Assert.That(stored.Model.Precision, Is.EqualTo(precision), "a quantized directory loads at its own precision");
        Assert.That((stored.TrainedPooling, stored.QueryInstruction), Is.EqualTo((atLoad.TrainedPooling, atLoad.QueryInstruction)));
        var (a, b) = (stored.Encode(Texts), atLoad.Encode(Texts));
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(a.RowArray(i), Is.EqualTo(b.RowArray(i)), $"text {i}: the stored weights are the ones quantizing at load makes");
        }

        // Asked for fp32, the int8 directory is dequantized (int8 × scale): close to, not equal to, the original.
        var widened = Embedder.Load(directory, new EmbedderOptions { Warning = _ => { }, Precision = Precision.Fp32 }).Encode(Texts);
        var original = Embedder.Load(TestPaths.Arctic, new EmbedderOptions { Warning = _ => { } }).Encode(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(widened.Row(i), original.Row(i)), Is.GreaterThan(0.99));
        }
    }

    // A tiny checkpoint in the int8 scheme, each tensor passing through `change` (null drops it).
    private string WriteTiny(Func<SafeTensorsEntry, SafeTensorsEntry?> change, string scheme = QuantizedWeights.Int8)
    {
        var config = TinyBert.Config();
        var entries = new List<SafeTensorsEntry>();
        foreach (var (name, (shape, values)) in TinyBert.Tensors(config))
        {
            if (!QuantizedWeights.IsLinearWeight(name, shape))
            {
                entries.Add(SafeTensorsEntry.FromFloats(name, shape, values));
                continue;
            }

            var (rows, columns) = ((int)shape[0], (int)shape[1]);
            var quantized = new sbyte[values.Length];
            var scales = new float[rows];
            for (var r = 0; r < rows; r++)
            {
                scales[r] = PackedWeight.QuantizeChannel(values.AsSpan(r * columns, columns), quantized.AsSpan(r * columns, columns));
            }

            entries.Add(new SafeTensorsEntry(name, TensorDType.I8, shape, quantized.Select(q => (byte)q).ToArray()));
            entries.Add(SafeTensorsEntry.FromFloats(QuantizedWeights.ScaleName(name), [rows], scales));
        }

        var path = Path.Combine(_root, $"tiny-{Guid.NewGuid():N}.safetensors");
        SafeTensorsWriter.Write(path, entries.Select(change).OfType<SafeTensorsEntry>(), new Dictionary<string, string> { [QuantizedWeights.MetadataKey] = scheme });
        return path;
    }

    private static Encoder Load(string path, Precision precision)
    {
        using var weights = Checkpoint.Open(TinyBert.Config(), [path]);
        return Encoder.Load(weights, SimdWidth.Vector256, precision);
    }

    private const string Query = "encoder.layer.1.attention.self.query.weight";

    [Test]
    public void AWellFormedInt8CheckpointLoadsAtEveryPrecision()
    {
        var path = WriteTiny(e => e);
        Assert.That(Load(path, Precision.Int8).Precision, Is.EqualTo(Precision.Int8));
        Assert.That(Load(path, Precision.Fp32).Precision, Is.EqualTo(Precision.Fp32));
        using var weights = Checkpoint.Open(TinyBert.Config(), [path]);
        Assert.That(weights.Quantization, Is.EqualTo(QuantizedWeights.Int8));
        Assert.That(Encoder.Load(weights).Precision, Is.EqualTo(Precision.Int8), "null precision: as stored");
    }

    [Test]
    public void AnUnknownSchemeIsRefusedByName()
    {
        var path = WriteTiny(e => e, "int4-awq");
        var error = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(TinyBert.Config(), [path]))!;
        Assert.That(error.Message, Does.Contain("int4-awq").And.Contain(QuantizedWeights.Int8));
        Assert.That(error.TensorName, Is.EqualTo(QuantizedWeights.MetadataKey));
    }

    [Test]
    public void Int8TensorsWithoutTheSchemeOrTheirScalesAreRefusedNamingTheTensor()
    {
        var noScheme = WriteTiny(e => e, QuantizedWeights.Bf16);
        var error = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(TinyBert.Config(), [noScheme]))!;
        Assert.That(error.Message, Does.Contain("I8").And.Contain(QuantizedWeights.MetadataKey));

        var noScale = WriteTiny(e => e.Name == QuantizedWeights.ScaleName(Query) ? null : e);
        error = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(TinyBert.Config(), [noScale]))!;
        Assert.That(error.TensorName, Is.EqualTo(Query));
        Assert.That(error.Message, Does.Contain("no scale tensor"));

        var badShape = WriteTiny(e => e.Name == QuantizedWeights.ScaleName(Query) ? SafeTensorsEntry.FromFloats(e.Name, [3], [1f, 1f, 1f]) : e);
        error = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(TinyBert.Config(), [badShape]))!;
        Assert.That(error.TensorName, Is.EqualTo(QuantizedWeights.ScaleName(Query)));
    }

    [Test]
    public void OutOfRangeInt8ValuesAndScalesAreRefusedAtLoadNamingTheTensor([Values(Precision.Int8, Precision.Fp32)] Precision precision)
    {
        var minus128 = WriteTiny(e =>
        {
            if (e.Name != Query)
            {
                return e;
            }

            var bytes = e.Data.ToArray();
            bytes[37] = 0x80;
            return e with { Data = bytes };
        });
        var error = Assert.Throws<ModelFormatException>(() => Load(minus128, precision))!;
        Assert.That((error.TensorName, error.Message.Contains("−128 at element 37", StringComparison.Ordinal)), Is.EqualTo((Query, true)), error.Message);

        var nanScale = WriteTiny(e => e.Name == QuantizedWeights.ScaleName(Query) ? SafeTensorsEntry.FromFloats(e.Name, [16], Enumerable.Repeat(float.NaN, 16).ToArray()) : e);
        error = Assert.Throws<ModelFormatException>(() => Load(nanScale, precision))!;
        Assert.That(error.TensorName, Is.EqualTo(QuantizedWeights.ScaleName(Query)));
    }
}
