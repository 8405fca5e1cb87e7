using System.Buffers.Binary;
using Bge.Weights;
using Bge.Weights.Torch;

namespace Bge.Tests.Weights.Torch;

/// <summary>Broken, lying and oversized checkpoints: each refused at open with a <see cref="ModelFormatException"/> that says why.</summary>
public sealed class TorchMalformedTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("bge-torch-bad-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static TorchFileBuilder Valid() => new TorchFileBuilder().AddFloats("a", [2, 3], [1, 2, 3, 4, 5, 6]).AddFloats("b", [4], [7, 8, 9, 10]);

    private string Save(byte[] bytes, string name = "bad.bin")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private void Refused(byte[] bytes, string message) =>
        Assert.That(() => TorchCheckpoint.Open(Save(bytes)).Dispose(), Throws.TypeOf<ModelFormatException>().With.Message.Contains(message));

    [Test]
    public void EveryTruncationIsRefused()
    {
        var bytes = Valid().Build();
        for (var length = 0; length < bytes.Length; length += 7)
        {
            Assert.That(() => TorchCheckpoint.Open(Save(bytes[..length])).Dispose(), Throws.TypeOf<ModelFormatException>(), $"cut at {length} of {bytes.Length}");
        }
    }

    [Test]
    public void CompressedRecordsAreRefusedByName()
    {
        var builder = Valid();
        var records = builder.Records();
        records[0] = records[0] with { Method = 8 };
        Refused(ZipWriter.Write(records), "zip record 'archive/data.pkl' is compressed (deflate)");
    }

    private static int CentralDirectory(byte[] bytes) => (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 6));

    [Test]
    public void ZipOffsetsOutsideTheFileAreRefused()
    {
        var bytes = Valid().Build();
        var directory = CentralDirectory(bytes);

        var pastEnd = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(pastEnd.AsSpan(pastEnd.Length - 6), (uint)bytes.Length + 100);
        Refused(pastEnd, "central directory");

        var localPastEnd = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(localPastEnd.AsSpan(directory + 42), uint.MaxValue - 1);
        Refused(localPastEnd, "local header of 'archive/data.pkl'");

        var sizeIntoDirectory = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(sizeIntoDirectory.AsSpan(directory + 20), (uint)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(sizeIntoDirectory.AsSpan(directory + 24), (uint)bytes.Length);
        Refused(sizeIntoDirectory, "runs into the central directory or past the file's end");

        var tooManyEntries = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(tooManyEntries.AsSpan(tooManyEntries.Length - 12), ushort.MaxValue);
        Refused(tooManyEntries, "cannot hold 65535 entries");

        var notLocal = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(notLocal.AsSpan(directory + 42), 1);
        Refused(notLocal, "has no local header");
    }

    [TestCase("../evil/data.pkl")]
    [TestCase("/abs/data.pkl")]
    [TestCase("a\\b")]
    public void NamesThatLeaveTheirFolderAreRefused(string name)
    {
        var records = Valid().Records();
        records.Add(new ZipWriter.Record(name, [1]));
        Refused(ZipWriter.Write(records), "is absolute or leaves its folder");
    }

    [Test]
    public void StoragesShorterThanTheirTensorsAreRefused()
    {
        var longer = Valid().Add("c", "Float", "0", [7], [1], offset: 0, declaredCount: 6);
        Refused(longer.Build(), "tensor 'c': elements 0..7 lie outside its storage of 6");

        var offset = Valid().Add("c", "Float", "0", [3], [1], offset: 4);
        Refused(offset.Build(), "elements 4..7 lie outside its storage of 6");

        var declared = Valid().Add("c", "Float", "1", [4], [1], offset: 0, declaredCount: 5);
        Refused(declared.Build(), "storage 'archive/data/1' declares 5 F32 elements but holds 16 bytes");

        var huge = Valid().Add("c", "Float", "1", [4], [1], offset: 0, declaredCount: long.MaxValue);
        Refused(huge.Build(), "declares 9223372036854775807 F32 elements");

        var missing = Valid().Add("c", "Float", "9", [1], [1], offset: 0, declaredCount: 1);
        Refused(missing.Build(), "its storage record 'archive/data/9' is missing");

        var overflow = Valid().Add("c", "Float", "0", [1L << 40, 1L << 40], [1L << 40, 1], offset: 0);
        Refused(overflow.Build(), "more than 2^63 elements");
    }

    [Test]
    public void NonContiguousStridesAreRefused()
    {
        var transposed = Valid().Add("t", "Float", "0", [3, 2], [1, 3], offset: 0);
        Refused(transposed.Build(), "tensor 't': has shape [3, 2] with strides (1, 3), not contiguous row-major");
        var mismatched = Valid().Add("t", "Float", "0", [6], [1, 1], offset: 0);
        Refused(mismatched.Build(), "not contiguous");
    }

    [Test]
    public void RecordsThatDescribeAnotherFormatAreRefused()
    {
        Refused(new TorchFileBuilder { ByteOrder = "big" }.AddFloats("a", [1], [1]).Build(), "archive/byteorder says 'big'; only little-endian checkpoints are read");
        Refused(new TorchFileBuilder { Version = "99" }.AddFloats("a", [1], [1]).Build(), "archive/version is '99'");
        var records = Valid().Records();
        records.Add(new ZipWriter.Record("other/data.pkl", new PickleWriter().Proto(2).Raw(0x7d).Stop().ToArray()));
        Refused(ZipWriter.Write(records), "has 2 data.pkl records");
        Refused(ZipWriter.Write([new("archive/version", "3"u8.ToArray())]), "has no {folder}/data.pkl record");
        var twice = Valid().AddFloats("a", [1], [1]);
        Refused(twice.Build(), "tensor 'a': appears twice in the state dict");
    }

    [Test]
    public void LegacyFilesGetTheLineThatReSavesThem()
    {
        // torch.save's legacy stream opens with PROTO 2 and the LONG1 magic number 0x1950a86a20f9469cfc6c.
        var legacy = new PickleWriter().Proto(2).Raw(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Raw(0x2e).ToArray();
        var path = Save(legacy, "pytorch_model.bin");
        var error = Assert.Throws<ModelFormatException>(() => TorchCheckpoint.Open(path).Dispose());
        Assert.That(error!.Message, Does.Contain("legacy PyTorch file").And.Contain("torch.save(torch.load(p, weights_only=True), p)"));
        Assert.That(() => TensorFiles.Open(path).Dispose(), Throws.TypeOf<ModelFormatException>().With.Message.Contains("legacy"));

        var tar = new byte[1024];
        "ustar"u8.CopyTo(tar.AsSpan(257));
        Refused(tar, "legacy PyTorch file");
        Refused("hello world"u8.ToArray(), "does not begin with a zip local header");
    }

    private static IEnumerable<TestCaseData> AbusivePickles()
    {
        static byte[] P(Action<PickleWriter> write)
        {
            var w = new PickleWriter().Proto(2);
            write(w);
            return w.ToArray();
        }

        yield return new TestCaseData(P(w => w.Raw(0x68, 9).Stop()), "memo key 9 was never put").SetName("BINGET of a key never put");
        yield return new TestCaseData(P(w => w.Raw(0x6a).UInt32(uint.MaxValue).Stop()), "memo key 4294967295 was never put").SetName("LONG_BINGET of 2^32-1");
        yield return new TestCaseData(P(w => w.Raw(0x72).UInt32(7).Stop()), "memo put with an empty stack").SetName("LONG_BINPUT on an empty stack");
        yield return new TestCaseData(P(w => w.Raw(0x74).Stop()), "TUPLE without a MARK").SetName("TUPLE without MARK");
        yield return new TestCaseData(P(w => w.Raw(0x30).Stop()), "POP without a MARK").SetName("POP on an empty stack");
        yield return new TestCaseData(P(w => w.Raw(0x87).Stop()), "TUPLE3 needs 3 values").SetName("TUPLE3 on an empty stack");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Mark().Raw(0x73)), "SETITEM needs 2 values").SetName("SETITEM across a MARK");
        yield return new TestCaseData(P(w => w.Raw(0x5d).Str("k").Str("v").Raw(0x73)), "SETITEM on a list").SetName("SETITEM on a list");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Mark().Str("k").Raw(0x75)), "odd number of keys").SetName("SETITEMS with a key alone");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Raw(0x7d).Stop()), "STOP with 2 values").SetName("STOP with two values");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Mark().Stop()), "1 marks").SetName("STOP inside a MARK");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Stop().Raw(0x7d)), "1 bytes follow STOP").SetName("bytes after STOP");
        yield return new TestCaseData(P(w => w.Raw(0x7d)), "ends without STOP").SetName("no STOP");
        yield return new TestCaseData(new PickleWriter().Proto(6).ToArray(), "pickle protocol 6").SetName("protocol 6");
        yield return new TestCaseData(P(w => { for (var i = 0; i < 200_000; i++) { w.Mark(); } w.Stop(); }), "200000 marks").SetName("200,000 MARKs");
        yield return new TestCaseData(P(w => { for (var i = 0; i < 200_000; i++) { w.Raw(0x5d).Raw(0x94); } w.Stop(); }), "200000 values").SetName("200,000 memoized lists");
        yield return new TestCaseData(P(w => w.Raw(0x58).UInt32(uint.MaxValue)), "BINUNICODE of 4294967295 bytes runs past the end").SetName("BINUNICODE of 4 GB");
        yield return new TestCaseData(P(w => w.Raw(0x8d).UInt64(ulong.MaxValue)), "BINUNICODE8 of 18446744073709551615 bytes").SetName("BINUNICODE8 of 2^64-1");
        yield return new TestCaseData(P(w => w.Raw(0x8c, 200).Raw("ab"u8.ToArray())), "SHORT_BINUNICODE of 200 bytes").SetName("SHORT_BINUNICODE past the end");
        yield return new TestCaseData(P(w => w.Raw(0x95).UInt64(ulong.MaxValue)), "FRAME of 18446744073709551615 bytes").SetName("FRAME of 2^64-1");
        yield return new TestCaseData(P(w => w.Raw(0x8a, 255).Raw(new byte[255]).Stop()), "LONG1 of 255 bytes exceeds 64 bits").SetName("LONG1 of 255 bytes");
        yield return new TestCaseData(P(w => w.Raw(0x4a, 1)), "BININT needs 4 bytes but 1 remain").SetName("BININT cut short");
        yield return new TestCaseData(P(w => w.Raw(0x63).Raw("os\nsys"u8.ToArray())), "has no end of line").SetName("GLOBAL without a newline");
        yield return new TestCaseData(P(w => w.Raw(0x58).UInt32(2).Raw(0xc3, 0x28).Stop()), "not valid UTF-8").SetName("BINUNICODE with invalid UTF-8");
        yield return new TestCaseData(P(w => w.Raw(0x5d).Stop()), "holds a list, not a state dict").SetName("a list at the root");
        yield return new TestCaseData(P(w => w.Raw(0x7d).Int(1).Int(2).Raw(0x73).Stop()), "state dict key is a int").SetName("an int key");
    }

    [TestCaseSource(nameof(AbusivePickles))]
    public void AbusivePicklesAreRefusedQuickly(byte[] pickle, string message)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Refused(Valid().Build(pickle), message);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
