using Bge.Weights;
using Bge.Weights.Torch;

namespace Bge.Tests.Weights.Torch;

/// <summary>
/// Checkpoints that would run code under pickle.load: each is refused with the global or opcode named, and its
/// payload (creating a marker file) never runs.
/// </summary>
public sealed class TorchHostileTests
{
    private string _dir = "";

    private string Marker => Path.Combine(_dir, "pwned");

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("bge-torch-hostile-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Dangerous =
        ["os.system", "posix.system", "nt.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "subprocess.check_output", "numpy.core.multiarray.scalar", "torch.load", "__builtin__.eval"];

    /// <summary>A valid checkpoint with one more entry whose value is <c>global('touch marker')</c>.</summary>
    private string WriteCall(string global, bool stack, string where)
    {
        var builder = new TorchFileBuilder { Protocol4 = stack }.AddFloats("ok", [2], [1, 2]);
        void Call(PickleWriter w) => w.Global(global, stack).Mark().Str($"touch {Marker}").Raw(0x74).Reduce();
        switch (where)
        {
            case "value":
                builder.AddRaw("evil", Call);
                break;
            case "hooks":
                // The backward-hooks argument of an otherwise valid tensor.
                builder.AddRaw("evil", w =>
                {
                    w.Global("torch._utils._rebuild_tensor_v2", stack).Mark();
                    w.Mark().Str("storage").Global("torch.FloatStorage", stack).Str("0").Str("cpu").Int(2).Raw(0x74).Raw(0x51);
                    w.Int(0).Tuple(2).Tuple(1).Bool(false);
                    Call(w);
                    w.Raw(0x74).Reduce();
                });
                break;
            default:
                return builder.Write(_dir, pickle: [.. new PickleWriter().Proto(2).ToArray(), .. Write(Call), .. new PickleWriter().Stop().ToArray()]);
        }

        return builder.Write(_dir);
    }

    /// <summary>Writes <paramref name="directory"/>/pytorch_model.bin whose root is <c>os.system(command)</c>.</summary>
    internal static string WriteSystemCall(string directory, string command) =>
        new TorchFileBuilder().Write(directory, pickle: [.. new PickleWriter().Proto(2).ToArray(), .. Write(w => w.Global("os.system", false).Mark().Str(command).Raw(0x74).Reduce()), .. new PickleWriter().Stop().ToArray()]);

    private static byte[] Write(Action<PickleWriter> value)
    {
        var w = new PickleWriter();
        value(w);
        return w.ToArray();
    }

    [Test]
    public void DangerousGlobalsAreRefusedByNameBeforeAnythingIsBuilt(
        [ValueSource(nameof(Dangerous))] string global, [Values] bool stackGlobal, [Values("value", "hooks", "root")] string where)
    {
        var path = WriteCall(global, stackGlobal, where);
        var error = Assert.Throws<ModelFormatException>(() => TorchCheckpoint.Open(path).Dispose());
        var opcode = stackGlobal ? "STACK_GLOBAL" : "GLOBAL";
        Assert.That(error!.Message, Does.Contain($"{opcode} '{global}' is not an allowed global"));
        Assert.That(error.Message, Does.Contain("archive/data.pkl byte "));
        Assert.That(error.Offset, Is.Not.Null);
        Assert.That(File.Exists(Marker), Is.False, "the payload ran");
        Assert.That(() => TensorFiles.Open(path).Dispose(), Throws.TypeOf<ModelFormatException>().With.Message.Contains($"'{global}'"));
    }

    [Test]
    public void TheRefusalPointsAtTheGlobalsOpcode()
    {
        var path = WriteCall("os.system", stack: false, "root");
        var error = Assert.Throws<ModelFormatException>(() => TorchCheckpoint.Open(path).Dispose());
        Assert.That(error!.Message, Does.Contain("archive/data.pkl byte 2: GLOBAL 'os.system'"), "PROTO takes bytes 0-1");
    }

    private static IEnumerable<TestCaseData> OpcodesThatCall()
    {
        // INST names its class inline, so the opcode itself is refused before the name is read.
        yield return new TestCaseData(Write(w => w.Mark().Str("touch x").Raw(0x69).Raw("os\nsystem\n"u8.ToArray())), 0x69, "INST").SetName("INST os.system");
        // OBJ and NEWOBJ instantiate the class below them; even an allowed class may not be instantiated that way.
        yield return new TestCaseData(Write(w => w.Mark().Global("collections", "OrderedDict").Raw(0x6f)), 0x6f, "OBJ").SetName("OBJ");
        yield return new TestCaseData(Write(w => w.Global("collections", "OrderedDict").EmptyTuple().Raw(0x81)), 0x81, "NEWOBJ").SetName("NEWOBJ");
        yield return new TestCaseData(Write(w => w.Global("collections", "OrderedDict").EmptyTuple().Raw(0x7d).Raw(0x92)), 0x92, "NEWOBJ_EX").SetName("NEWOBJ_EX");
        yield return new TestCaseData(Write(w => w.Raw(0x82, 1)), 0x82, "EXT1").SetName("EXT1 (copyreg's extension registry)");
        yield return new TestCaseData(Write(w => w.Raw(0x50).Raw("0\n"u8.ToArray())), 0x50, "PERSID").SetName("PERSID");
        yield return new TestCaseData(Write(w => w.Str("x").Raw(0x32)), 0x32, "DUP").SetName("DUP");
        yield return new TestCaseData(Write(w => w.Raw(0x8f)), 0x8f, "EMPTY_SET").SetName("EMPTY_SET");
        yield return new TestCaseData(Write(w => w.Raw(0x43, 1, 0)), 0x43, "SHORT_BINBYTES").SetName("SHORT_BINBYTES");
        yield return new TestCaseData(Write(w => w.Raw(0xff)), 0xff, "unknown").SetName("a byte that is no opcode");
    }

    [TestCaseSource(nameof(OpcodesThatCall))]
    public void OpcodesOutsideTheSetAreRefusedByNameAndOffset(byte[] value, int opcode, string name)
    {
        var path = new TorchFileBuilder().AddFloats("ok", [1], [1]).AddRaw("evil", w => w.Raw(value)).Write(_dir);
        var error = Assert.Throws<ModelFormatException>(() => TorchCheckpoint.Open(path).Dispose());
        Assert.That(error!.Message, Does.Contain($"opcode 0x{opcode:x2} ({name}) is not supported"));
        Assert.That(error.Offset, Is.Not.Null);
    }

    private static IEnumerable<TestCaseData> MisusedAllowedGlobals()
    {
        yield return new TestCaseData(Write(w => w.Global("torch", "FloatStorage").EmptyTuple().Reduce()), "storages come only from persistent ids").SetName("a storage class called");
        yield return new TestCaseData(Write(w => w.Global("collections", "OrderedDict").Mark().Str("x").Raw(0x74).Reduce()), "does not take 1 arguments").SetName("OrderedDict with arguments");
        yield return new TestCaseData(Write(w => w.Global("torch._utils", "_rebuild_tensor_v2").Mark().Str("a").Int(0).Tuple(1).Tuple(1).Bool(false).Raw(0x4e).Raw(0x74).Reduce()), "_rebuild_tensor_v2 takes").SetName("rebuild without a storage");
        yield return new TestCaseData(Write(w => w.Str("os").Mark().Raw(0x74).Reduce()), "REDUCE calls a str").SetName("REDUCE on a str");
        yield return new TestCaseData(Write(w => w.Raw(0x5d).Raw(0x7d).Raw(0x62)), "BUILD sets the state of a list").SetName("BUILD on a list");
        yield return new TestCaseData(Write(w => w.Mark().Str("storage").Global("os", "system").Raw(0x74).Raw(0x51)), "GLOBAL 'os.system' is not an allowed global").SetName("a persistent id naming os.system");
        yield return new TestCaseData(Write(w => w.Mark().Str("file").Str("/etc/passwd").Raw(0x74).Raw(0x51)), "persistent id is a tuple of 2").SetName("a persistent id that is no storage");
        yield return new TestCaseData(Write(w => w.Int(5)), "is a int in the state dict, not a tensor").SetName("an int in the state dict");
    }

    [TestCaseSource(nameof(MisusedAllowedGlobals))]
    public void AllowedGlobalsBuildOnlyTheirOneValue(byte[] value, string message)
    {
        var path = new TorchFileBuilder().AddFloats("ok", [1], [1]).AddRaw("entry", w => w.Raw(value)).Write(_dir);
        Assert.That(() => TorchCheckpoint.Open(path).Dispose(), Throws.TypeOf<ModelFormatException>().With.Message.Contains(message));
    }
}
