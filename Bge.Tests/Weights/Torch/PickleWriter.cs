using System.Buffers.Binary;
using System.Text;

namespace Bge.Tests.Weights.Torch;

/// <summary>Writes pickle opcodes by hand, hostile ones included: the tests' own files, never Python's.</summary>
internal sealed class PickleWriter
{
    private readonly List<byte> _bytes = [];
    private int _memo;

    public int Length => _bytes.Count;

    public PickleWriter Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public PickleWriter Proto(byte version) => Raw(0x80, version);

    public PickleWriter Mark() => Raw(0x28);

    public PickleWriter Stop() => Raw(0x2e);

    public PickleWriter Global(string module, string name) => Raw(0x63).Raw(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));

    public PickleWriter StackGlobal(string module, string name) => Str(module).Str(name).Raw(0x93);

    /// <summary>A global by either opcode, as the caller's protocol would write it.</summary>
    public PickleWriter Global(string dotted, bool stack)
    {
        var dot = dotted.LastIndexOf('.');
        return stack ? StackGlobal(dotted[..dot], dotted[(dot + 1)..]) : Global(dotted[..dot], dotted[(dot + 1)..]);
    }

    public PickleWriter Str(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        return Raw(0x58).UInt32((uint)utf8.Length).Raw(utf8);
    }

    public PickleWriter ShortStr(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        return Raw(0x8c, (byte)utf8.Length).Raw(utf8);
    }

    public PickleWriter Int(long value) => value switch
    {
        >= 0 and < 256 => Raw(0x4b, (byte)value),
        >= 0 and < 65536 => Raw(0x4d).Raw(BitConverter.GetBytes((ushort)value)),
        >= int.MinValue and <= int.MaxValue => Raw(0x4a).Raw(BitConverter.GetBytes((int)value)),
        _ => Raw(0x8a, 8).Raw(BitConverter.GetBytes(value)),
    };

    public PickleWriter Bool(bool value) => Raw(value ? (byte)0x88 : (byte)0x89);

    public PickleWriter Tuple(params long[] values)
    {
        Mark();
        foreach (var v in values)
        {
            Int(v);
        }

        return Raw(0x74);
    }

    public PickleWriter EmptyTuple() => Raw(0x29);

    public PickleWriter Reduce() => Raw(0x52);

    public PickleWriter Put() => Raw(0x71, (byte)_memo++);

    public PickleWriter Memoize() => Raw(0x94);

    public PickleWriter Get(int key) => Raw(0x68, (byte)key);

    public PickleWriter UInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Raw(bytes.ToArray());
    }

    public PickleWriter UInt64(ulong value) => Raw(BitConverter.GetBytes(value));

    public byte[] ToArray() => [.. _bytes];
}
