using System.Text;

namespace Bge.Formats;

/// <summary>Protocol-buffer wire types.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// A minimal, bounds-checked protobuf reader over a window of a byte array. Every read is checked against the
/// window, so a corrupt file ends in <see cref="ProtoFormatException"/> naming the offset, never an out-of-range read;
/// each assembly that compiles this file wraps that in its own typed exception, which names the file.
/// </summary>
internal struct ProtoReader
{
    private readonly byte[] _buffer;
    private readonly int _end;
    private int _position;

    public ProtoReader(byte[] buffer, int start, int end)
    {
        _buffer = buffer;
        _position = start;
        _end = end;
    }

    public readonly int Position => _position;

    public readonly bool AtEnd => _position >= _end;

    public bool TryReadTag(out int field, out WireType wireType)
    {
        if (_position >= _end)
        {
            field = 0;
            wireType = default;
            return false;
        }

        var tagStart = _position;
        var tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (WireType)(tag & 7);
        if (field <= 0 || tag >> 3 > int.MaxValue || (int)wireType is 3 or 4 or > 5)
        {
            throw Error($"invalid protobuf tag {tag}", tagStart);
        }

        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        var start = _position;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _end)
            {
                throw Error("truncated varint", start);
            }

            var b = _buffer[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw Error("varint longer than 10 bytes", start);
    }

    public long ReadInt64() => (long)ReadVarint();

    public int ReadInt32() => (int)(long)ReadVarint();

    public float ReadFixed32Float()
    {
        Require(4);
        var value = BitConverter.ToSingle(_buffer, _position);
        _position += 4;
        return value;
    }

    /// <summary>Reads a length-delimited field and returns its window as [start, end).</summary>
    public (int Start, int End) ReadLengthDelimited()
    {
        var at = _position;
        var length = ReadVarint();
        if (length > (ulong)(_end - _position))
        {
            throw Error($"length-delimited field of {length} bytes runs past the end of its message", at);
        }

        var start = _position;
        _position += (int)length;
        return (start, _position);
    }

    public ProtoReader ReadMessage()
    {
        var (start, end) = ReadLengthDelimited();
        return new ProtoReader(_buffer, start, end);
    }

    public string ReadString()
    {
        var (start, end) = ReadLengthDelimited();
        return Encoding.UTF8.GetString(_buffer, start, end - start);
    }

    /// <summary>Reads a repeated int64 field that may be packed or not; appends to <paramref name="into"/>.</summary>
    public void ReadInt64s(WireType wireType, List<long> into)
    {
        if (wireType == WireType.Varint)
        {
            into.Add(ReadInt64());
            return;
        }

        var packed = ReadMessage();
        while (!packed.AtEnd)
        {
            into.Add(packed.ReadInt64());
        }
    }

    public void Skip(WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                Require(8);
                _position += 8;
                break;
            case WireType.Fixed32:
                Require(4);
                _position += 4;
                break;
            case WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            default:
                throw Error($"unsupported wire type {wireType}", _position);
        }
    }

    private readonly void Require(int bytes)
    {
        if (_end - _position < bytes)
        {
            throw Error($"truncated field: {bytes} bytes needed, {_end - _position} left", _position);
        }
    }

    public static ProtoFormatException Error(string message, int offset) => new(message, offset);
}

/// <summary>Bytes that are not the protobuf message expected; <see cref="Offset"/> is where reading failed.</summary>
internal sealed class ProtoFormatException(string message, long offset) : FormatException($"{message} at byte {offset}")
{
    /// <summary>The byte offset where the message stops making sense.</summary>
    public long Offset { get; } = offset;

    /// <summary>What is wrong, without the offset.</summary>
    public string Reason { get; } = message;
}
