using System.Runtime.InteropServices;
using Bge.Weights;
using Bge.Weights.SafeTensors;
using Bge.Weights.Torch;

namespace Bge.Tests.Weights.Torch;

/// <summary>PyTorch zip checkpoints: the shared tiny bge-m3 files against their safetensors twin, and every layout torch.save writes.</summary>
public sealed class TorchCheckpointTests
{
    private static string Models => Path.Combine(TestPaths.Shared, "golden", "models");

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("bge-torch-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void PytorchModelBinHoldsTheSafetensorsWeightsBitForBit()
    {
        using var bin = TorchCheckpoint.Open(Path.Combine(Models, "xlmr-m3-tiny-pt", "pytorch_model.bin"));
        using var safetensors = SafeTensorsFile.Open(Path.Combine(Models, "xlmr-m3-tiny", "model.safetensors"));
        Assert.That(bin.RecordPrefix, Is.EqualTo("pytorch_model/"));
        Assert.That(bin.Tensors.Keys.Order(), Is.EqualTo(safetensors.Tensors.Keys.Append("embeddings.position_ids").Order()));
        foreach (var (name, expected) in safetensors.Tensors)
        {
            var actual = bin.Tensors[name];
            Assert.That(actual.DType, Is.EqualTo(expected.DType), name);
            Assert.That(actual.Shape, Is.EqualTo(expected.Shape), name);
            Assert.That(bin.GetBytes(name).SequenceEqual(safetensors.GetBytes(name)), Is.True, $"{name}: bytes differ");
            Assert.That(bin.ReadFloat32(name), Is.EqualTo(safetensors.ReadFloat32(name)), name);
        }

        var positions = bin.Tensors["embeddings.position_ids"];
        Assert.That(positions.DType, Is.EqualTo(TensorDType.I64));
        Assert.That(positions.Shape, Is.EqualTo(new long[] { 1, 8194 }));
        Assert.That(MemoryMarshal.Cast<byte, long>(bin.GetBytes(positions.Name)).ToArray(), Is.EqualTo(Enumerable.Range(0, 8194).Select(i => (long)i)));
        Assert.That(() => bin.ReadFloat32(positions.Name), Throws.TypeOf<ModelFormatException>().With.Message.Contains("I64"));

        var rows = new float[2 * 64];
        bin.CopyToFloat32("embeddings.word_embeddings.weight", 7 * 64, rows);
        Assert.That(rows, Is.EqualTo(safetensors.ReadFloat32("embeddings.word_embeddings.weight").Skip(7 * 64).Take(2 * 64)), "rows 7 and 8 alone");
    }

    [TestCase("colbert_linear.pt", "colbert_linear/", 64L)]
    [TestCase("sparse_linear.pt", "archive/", 1L)]
    public void HeadFilesReadAlikeInBothFolders(string file, string prefix, long outputs)
    {
        using var a = TorchCheckpoint.Open(Path.Combine(Models, "xlmr-m3-tiny", file));
        using var b = (TorchCheckpoint)TensorFiles.Open(Path.Combine(Models, "xlmr-m3-tiny-pt", file));
        Assert.That(a.RecordPrefix, Is.EqualTo(prefix));
        Assert.That(a.Tensors.Keys, Is.EquivalentTo(new[] { "weight", "bias" }));
        Assert.That(a.Tensors["weight"].Shape, Is.EqualTo(new[] { outputs, 64 }));
        Assert.That(a.Tensors["bias"].Shape, Is.EqualTo(new[] { outputs }));
        foreach (var name in a.Tensors.Keys)
        {
            Assert.That(b.Tensors[name].Shape, Is.EqualTo(a.Tensors[name].Shape));
            Assert.That(b.GetBytes(name).SequenceEqual(a.GetBytes(name)), Is.True, name);
            Assert.That(a.ReadFloat32(name).All(float.IsFinite), Is.True, name);
        }
    }

    [Test]
    public void TensorFilesOpenEitherFormatByContent()
    {
        var safetensors = Path.Combine(Models, "xlmr-m3-tiny", "model.safetensors");
        using (var file = TensorFiles.Open(safetensors))
        {
            Assert.That(file, Is.TypeOf<SafeTensorsFile>());
        }

        // A zip header wins over the extension, and a JSON header does too.
        var zipNamedSafetensors = Path.Combine(_dir, "renamed.safetensors");
        File.Copy(Path.Combine(Models, "xlmr-m3-tiny", "sparse_linear.pt"), zipNamedSafetensors);
        using (var file = TensorFiles.Open(zipNamedSafetensors))
        {
            Assert.That(file, Is.TypeOf<TorchCheckpoint>());
        }

        var jsonNamedBin = Path.Combine(_dir, "renamed.bin");
        File.Copy(safetensors, jsonNamedBin);
        using (var file = TensorFiles.Open(jsonNamedBin))
        {
            Assert.That(file, Is.TypeOf<SafeTensorsFile>());
        }
    }

    private static byte[] Bytes<T>(params T[] values)
        where T : struct => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void EveryStorageTypeAndLayoutReadsBack(bool protocol4, bool zip64)
    {
        var builder = new TorchFileBuilder { Protocol4 = protocol4, Zip64 = zip64, Prefix = "some_model/" }
            .AddFloats("f32", [2, 3], [1, 2, 3, 4, 5, 6])
            .Add("f16", "Half", [2], Bytes((Half)1.5f, (Half)(-2f)))
            .Add("bf16", "BFloat16", [2], Bytes<ushort>(0x3FC0, 0xC000))
            .Add("f64", "Double", [1], Bytes(0.25))
            .Add("i64", "Long", [3], Bytes(1L, -2L, 3L))
            .Add("i32", "Int", [1], Bytes(7))
            .Add("i16", "Short", [1], Bytes((short)-7))
            .Add("i8", "Char", [1], [0xff])
            .Add("u8", "Byte", [1], [0xfe])
            .Add("bool", "Bool", [2], [1, 0]);
        // Views into one storage: a row at an offset, a parameter, a 7-argument rebuild, size-1 dims with any stride, empty.
        builder.Add("row", "Float", "0", [3], [1], offset: 3)
            .Add("parameter", "Float", "0", [6], [1], offset: 0, parameter: true)
            .Add("metadata", "Float", "0", [1, 2], [1, 1], offset: 4, arguments: 7)
            .Add("column", "Float", "0", [2, 1], [1, 99], offset: 0)
            .Add("empty", "Float", "0", [0, 5], [7, 7], offset: 6);
        var path = builder.Write(_dir);

        using var file = TorchCheckpoint.Open(path);
        Assert.That(file.RecordPrefix, Is.EqualTo("some_model/"));
        Assert.That(file.Metadata, Is.Empty);
        Assert.That(file.ReadFloat32("f32"), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(file.Tensors["f32"].Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(file.ReadFloat32("f16"), Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(file.ReadFloat32("bf16"), Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(file.ReadFloat32("f64"), Is.EqualTo(new[] { 0.25f }));
        var types = new Dictionary<string, TensorDType>
        {
            ["f32"] = TensorDType.F32, ["f16"] = TensorDType.F16, ["bf16"] = TensorDType.BF16, ["f64"] = TensorDType.F64, ["i64"] = TensorDType.I64,
            ["i32"] = TensorDType.I32, ["i16"] = TensorDType.I16, ["i8"] = TensorDType.I8, ["u8"] = TensorDType.U8, ["bool"] = TensorDType.BOOL,
        };
        foreach (var (name, dtype) in types)
        {
            Assert.That(file.Tensors[name].DType, Is.EqualTo(dtype), name);
        }

        Assert.That(MemoryMarshal.Cast<byte, long>(file.GetBytes("i64")).ToArray(), Is.EqualTo(new long[] { 1, -2, 3 }));
        Assert.That(file.GetBytes("i8").ToArray(), Is.EqualTo(new byte[] { 0xff }));
        Assert.That(file.ReadFloat32("row"), Is.EqualTo(new float[] { 4, 5, 6 }));
        Assert.That(file.ReadFloat32("parameter"), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(file.ReadFloat32("metadata"), Is.EqualTo(new float[] { 5, 6 }));
        Assert.That(file.ReadFloat32("column"), Is.EqualTo(new float[] { 1, 2 }));
        Assert.That(file.ReadFloat32("empty"), Is.Empty);
    }

    [Test]
    public void ReadsAfterDisposeAreRefused()
    {
        var path = new TorchFileBuilder().AddFloats("a", [2], [1, 2]).Write(_dir);
        var file = TorchCheckpoint.Open(path);
        file.Dispose();
        Assert.That(() => file.ReadFloat32("a"), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(() => file.GetBytes("a").ToArray(), Throws.TypeOf<ObjectDisposedException>());
    }
}
