using System.Buffers.Binary;
using System.Text;
using Bge.Weights;
using Bge.Weights.SafeTensors;

namespace Bge.Tests.Weights;

public sealed class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("bge-st-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 8) - 4)).ToArray();
    }

    [TestCase(TensorDType.F32)]
    [TestCase(TensorDType.F16)]
    [TestCase(TensorDType.BF16)]
    public void RoundTripKeepsShapesValuesAndMetadata(TensorDType dtype)
    {
        var a = Values(6 * 7, 1);
        var b = Values(5, 2);
        var path = Path.Combine(_dir, "m.safetensors");
        SafeTensorsWriter.Write(path,
            [SafeTensorsEntry.FromFloats("layer.a", [6, 7], a, dtype), SafeTensorsEntry.FromFloats("b", [5], b, dtype)],
            new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Tensors.Keys, Is.EquivalentTo(new[] { "layer.a", "b" }));
        Assert.That(file.Tensors["layer.a"].Shape, Is.EqualTo(new long[] { 6, 7 }));
        Assert.That(file.Tensors["layer.a"].DType, Is.EqualTo(dtype));
        Assert.That(file.Metadata["format"], Is.EqualTo("pt"));
        Func<float, float> stored = dtype switch
        {
            TensorDType.F16 => x => (float)(Half)x,
            TensorDType.BF16 => x => BitConverter.Int32BitsToSingle(SafeTensorsEntry.ToBFloat16(x) << 16),
            _ => x => x,
        };
        Assert.That(file.ReadFloat32("layer.a"), Is.EqualTo(a.Select(stored).ToArray()));
        Assert.That(file.ReadFloat32("b"), Is.EqualTo(b.Select(stored).ToArray()));
        var rows = new float[2 * 7];
        file.CopyToFloat32("layer.a", 3 * 7, rows);
        Assert.That(rows, Is.EqualTo(a.Skip(3 * 7).Take(2 * 7).Select(stored).ToArray()), "rows 3 and 4 alone");
        file.CopyToFloat32("layer.a", 4 * 7, rows);
        Assert.That(rows, Is.EqualTo(a.Skip(4 * 7).Select(stored).ToArray()), "the last two rows");
        Assert.That(() => file.CopyToFloat32("layer.a", (4 * 7) + 1, rows), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("layer.a"));
        Assert.That(() => file.CopyToFloat32("layer.a", -1, rows), Throws.TypeOf<ArgumentOutOfRangeException>());
        if (dtype == TensorDType.F32)
        {
            Assert.That(file.GetFloat32Span("layer.a").ToArray(), Is.EqualTo(a));
        }
        else
        {
            var error = Assert.Throws<ModelFormatException>(() => file.GetFloat32Span("b"));
            Assert.That(error!.TensorName, Is.EqualTo("b"));
        }
    }

    [Test]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.That(SafeTensorsEntry.ToBFloat16(1.0f), Is.EqualTo(0x3F80));
        Assert.That(SafeTensorsEntry.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80), "tie to even (down)");
        Assert.That(SafeTensorsEntry.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82), "tie to even (up)");
        Assert.That(SafeTensorsEntry.ToBFloat16(BitConverter.Int32BitsToSingle(0x3F808001)), Is.EqualTo(0x3F81));
    }

    private string WriteRaw(string header, int dataBytes, long? claimedHeaderLength = null)
    {
        var path = Path.Combine(_dir, "raw.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, claimedHeaderLength ?? headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static ModelFormatException Refused(string path)
    {
        var error = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.That(error!.FilePath, Is.EqualTo(path));
        return error;
    }

    [Test]
    public void AValidRawFileOpens()
    {
        using var file = SafeTensorsFile.Open(WriteRaw("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":"v"}}""", 16));
        Assert.That(file.Tensors["w"].ElementCount, Is.EqualTo(4));
    }

    [Test]
    public void FileShorterThanTheLengthFieldIsRefused()
    {
        var path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(Refused(path).Message, Does.Contain("too short"));
    }

    [Test]
    public void HeaderLengthPastTheEndIsRefused() =>
        Assert.That(Refused(WriteRaw("{}", 0, claimedHeaderLength: 10_000_000_000)).Message, Does.Contain("runs past the end"));

    [Test]
    public void InvalidJsonIsRefused() => Assert.That(Refused(WriteRaw("{\"w\": [", 0)).Message, Does.Contain("not valid JSON"));

    [Test]
    public void NonObjectHeaderIsRefused() => Refused(WriteRaw("[1,2]", 0));

    [Test]
    public void UnknownDTypeIsRefusedNamingTheTensor()
    {
        var error = Refused(WriteRaw("""{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}""", 4));
        Assert.That(error.TensorName, Is.EqualTo("w"));
        Assert.That(error.Message, Does.Contain("unknown dtype 'F31'"));
    }

    [Test]
    public void OffsetsOutsideTheDataAreRefused()
    {
        var error = Refused(WriteRaw("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8));
        Assert.That(error.TensorName, Is.EqualTo("w"));
        Assert.That(error.Message, Does.Contain("outside"));
    }

    [Test]
    public void TruncatedDataIsRefused()
    {
        var path = Path.Combine(_dir, "t.safetensors");
        SafeTensorsWriter.Write(path, [SafeTensorsEntry.FromFloats("w", [100], Values(100, 3))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        Assert.That(Refused(path).TensorName, Is.EqualTo("w"));
    }

    [Test]
    public void OverlappingTensorsAreRefused()
    {
        var error = Refused(WriteRaw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12));
        Assert.That(error.Message, Does.Contain("overlaps"));
    }

    [Test]
    public void SizeNotMatchingShapeIsRefused()
    {
        var error = Refused(WriteRaw("""{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}""", 8));
        Assert.That(error.Message, Does.Contain("needs 6 bytes"));
    }

    [Test]
    public void AHugeClaimedShapeIsRefusedWithoutAllocating()
    {
        var error = Refused(WriteRaw("""{"w":{"dtype":"F32","shape":[100000,100000,100000,100000],"data_offsets":[0,4]}}""", 4));
        Assert.That(error.TensorName, Is.EqualTo("w"));
    }

    [TestCase("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""")]
    [TestCase("""{"w":{"shape":[1],"data_offsets":[0,4]}}""")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""")]
    [TestCase("""{"w":7}""")]
    [TestCase("""{"__metadata__":{"k":1}}""")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    public void MalformedEntriesAreRefused(string header) => Refused(WriteRaw(header, 4));

    [Test]
    public void RandomCorruptionOnlyEverGivesTheTypedException()
    {
        var path = Path.Combine(_dir, "valid.safetensors");
        SafeTensorsWriter.Write(path, [SafeTensorsEntry.FromFloats("a", [3, 4], Values(12, 4)), SafeTensorsEntry.FromFloats("b", [7], Values(7, 5), TensorDType.BF16)]);
        var original = File.ReadAllBytes(path);
        var random = new Random(42);
        var corrupt = Path.Combine(_dir, "corrupt.safetensors");
        var refused = 0;
        for (var i = 0; i < 2000; i++)
        {
            var bytes = original[..random.Next(0, original.Length + 1)];
            for (var flips = random.Next(0, 4); flips > 0 && bytes.Length > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(corrupt, bytes);
            try
            {
                using var file = SafeTensorsFile.Open(corrupt);
                foreach (var name in file.Tensors.Keys)
                {
                    if (file.Tensors[name].DType.IsFloatingPoint())
                    {
                        file.ReadFloat32(name);
                    }
                }
            }
            catch (ModelFormatException)
            {
                refused++;
            }
        }

        Assert.That(refused, Is.GreaterThan(1000), "most corruptions are detected");
    }
}
