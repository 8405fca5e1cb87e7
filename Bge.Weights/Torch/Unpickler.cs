using System.Buffers.Binary;
using System.Text;
using static Bge.Weights.Torch.PickleOpcodes;

namespace Bge.Weights.Torch;

/// <summary>
/// A pickle machine that never calls anything: the opcodes a state dict is written with (protocols 2 to 5), globals
/// only from <see cref="AllowedGlobals"/>, refused at the GLOBAL itself before anything is built, and every REDUCE a
/// fixed construction of a typed value. Any other opcode is refused by name and offset. It is a loop over the bytes,
/// never a recursion; the stack and the memo grow by at most one entry per opcode byte, and every length read from
/// the data is checked against the bytes left before anything is allocated for it.
/// </summary>
internal ref struct Unpickler
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly ReadOnlySpan<byte> _data;
    private readonly string _path;
    private readonly string _entry;
    private readonly long _fileOffset;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<uint, object?> _memo = [];
    private int _at;
    private int _opcodeAt;

    private Unpickler(ReadOnlySpan<byte> data, string path, string entry, long fileOffset)
    {
        _data = data;
        _path = path;
        _entry = entry;
        _fileOffset = fileOffset;
    }

    /// <summary>Runs the pickle in <paramref name="data"/> (the record <paramref name="entry"/>, at <paramref name="fileOffset"/> in the file).</summary>
    /// <exception cref="ModelFormatException">An opcode or global outside the allowed set, or a malformed pickle; the message names the byte.</exception>
    public static object? Load(ReadOnlySpan<byte> data, string path, string entry, long fileOffset) =>
        new Unpickler(data, path, entry, fileOffset).Run();

    private object? Run()
    {
        while (_at < _data.Length)
        {
            _opcodeAt = _at;
            var opcode = _data[_at++];
            if (opcode == Stop)
            {
                return Finish();
            }

            Step(opcode);
        }

        throw Fail($"{_entry} ends without STOP");
    }

    private void Step(byte opcode)
    {
        switch (opcode)
        {
            case Proto:
                var version = Take(1)[0];
                if (version > 5)
                {
                    throw Fail($"pickle protocol {version} is newer than 5");
                }

                break;
            case Frame:
                // A frame only groups the opcodes that follow; its length must still be honest.
                var frame = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                if (frame > (ulong)(_data.Length - _at))
                {
                    throw Fail($"FRAME of {frame} bytes runs past the end of {_entry}");
                }

                break;
            case Global:
                var module = Line();
                Push(Allowed("GLOBAL", module, Line()));
                break;
            case StackGlobal:
                var name = PopValue();
                var owner = PopValue();
                if (owner is not string moduleName || name is not string globalName)
                {
                    throw Fail($"STACK_GLOBAL takes two strs, not {PickleNames.Of(owner)} and {PickleNames.Of(name)}");
                }

                Push(Allowed("STACK_GLOBAL", moduleName, globalName));
                break;
            case BinPut:
                Put(Take(1)[0]);
                break;
            case LongBinPut:
                Put(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                break;
            case Memoize:
                Put((uint)_memo.Count);
                break;
            case BinGet:
                Get(Take(1)[0]);
                break;
            case LongBinGet:
                Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                break;
            case Mark:
                _marks.Add(_stack.Count);
                break;
            case Pop:
                // Python pops the mark itself when nothing lies above it.
                if (_stack.Count > MarkBase())
                {
                    PopValue();
                }
                else
                {
                    PopToMark();
                }

                break;
            case PopMark:
                PopToMark();
                break;
            case EmptyTuple:
                Push(new PickleTuple([]));
                break;
            case PickleOpcodes.Tuple:
                Push(new PickleTuple(PopToMark()));
                break;
            case Tuple1:
            case Tuple2:
            case Tuple3:
                Push(new PickleTuple(PopTop(opcode - Tuple1 + 1)));
                break;
            case EmptyDict:
                Push(new PickleDict(ordered: false));
                break;
            case Dict:
                var dict = new PickleDict(ordered: false);
                AddPairs(dict, PopToMark());
                Push(dict);
                break;
            case SetItem:
                var pair = PopTop(2);
                AddPairs(Top<PickleDict>("SETITEM"), pair);
                break;
            case SetItems:
                var pairs = PopToMark();
                AddPairs(Top<PickleDict>("SETITEMS"), pairs);
                break;
            case EmptyList:
                Push(new List<object?>());
                break;
            case Append:
                var item = PopValue();
                Top<List<object?>>("APPEND").Add(item);
                break;
            case Appends:
                var items = PopToMark();
                Top<List<object?>>("APPENDS").AddRange(items);
                break;
            case BinInt:
                Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                break;
            case BinInt1:
                Push((long)Take(1)[0]);
                break;
            case BinInt2:
                Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                break;
            case Long1:
                Push(Long(Take(Take(1)[0])));
                break;
            case BinUnicode:
                Push(Text(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))));
                break;
            case ShortBinUnicode:
                Push(Text(Take(1)[0]));
                break;
            case BinUnicode8:
                Push(Text(BinaryPrimitives.ReadUInt64LittleEndian(Take(8))));
                break;
            case BinFloat:
                Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                break;
            case NewTrue:
                Push(true);
                break;
            case NewFalse:
                Push(false);
                break;
            case None:
                Push(null);
                break;
            case BinPersId:
                Push(AllowedGlobals.Persistent(PopValue(), out var persistentRefusal) ?? throw Fail(persistentRefusal!));
                break;
            case Reduce:
                var args = PopValue();
                var callable = PopValue();
                if (callable is not PickleGlobal function || args is not PickleTuple arguments)
                {
                    throw Fail($"REDUCE calls a {PickleNames.Of(callable)} with a {PickleNames.Of(args)}; only allowed globals with a tuple are called");
                }

                Push(AllowedGlobals.Reduce(function, arguments, out var reduceRefusal) ?? throw Fail(reduceRefusal!));
                break;
            case Build:
                // A state dict's _metadata arrives as BUILD state on the OrderedDict: it only describes module versions.
                _ = PopValue();
                if (Peek() is not PickleDict { Ordered: true })
                {
                    throw Fail($"BUILD sets the state of a {PickleNames.Of(Peek())}; only an OrderedDict's is accepted");
                }

                break;
            default:
                throw Fail($"opcode 0x{opcode:x2} ({NameOf(opcode)}) is not supported");
        }
    }

    private object? Finish()
    {
        if (_marks.Count != 0 || _stack.Count != 1)
        {
            throw Fail($"STOP with {_stack.Count} values and {_marks.Count} marks on the stack; a pickle ends with one value");
        }

        return _at == _data.Length ? _stack[0] : throw Fail($"{_data.Length - _at} bytes follow STOP");
    }

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count > _data.Length - _at)
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} needs {count} bytes but {_data.Length - _at} remain in {_entry}");
        }

        var bytes = _data.Slice(_at, (int)count);
        _at += (int)count;
        return bytes;
    }

    private string Line()
    {
        var length = _data[_at..].IndexOf((byte)'\n');
        if (length < 0)
        {
            throw Fail("GLOBAL's module or name has no end of line");
        }

        return Decode(Take(length + 1)[..length]);
    }

    private string Text(ulong length)
    {
        if (length > (ulong)(_data.Length - _at))
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} of {length} bytes runs past the end of {_entry}");
        }

        return Decode(Take((long)length));
    }

    private string Decode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Fail("string is not valid UTF-8", e);
        }
    }

    private long Long(ReadOnlySpan<byte> bytes)
    {
        // Two's complement, little-endian; a state dict's ints (sizes, offsets) fit in 64 bits.
        if (bytes.Length > 8)
        {
            throw Fail($"LONG1 of {bytes.Length} bytes exceeds 64 bits");
        }

        if (bytes.IsEmpty)
        {
            return 0;
        }

        Span<byte> wide = stackalloc byte[8];
        wide.Fill((bytes[^1] & 0x80) != 0 ? (byte)0xff : (byte)0);
        bytes.CopyTo(wide);
        return BinaryPrimitives.ReadInt64LittleEndian(wide);
    }

    private PickleGlobal Allowed(string opcode, string module, string name) =>
        AllowedGlobals.Find(module, name) ?? throw Fail($"{opcode} '{module}.{name}' is not an allowed global");

    private void Put(uint key)
    {
        if (_stack.Count == 0)
        {
            throw Fail("memo put with an empty stack");
        }

        _memo[key] = _stack[^1];
    }

    private void Get(uint key) =>
        Push(_memo.TryGetValue(key, out var value) ? value : throw Fail($"memo key {key} was never put"));

    private void Push(object? value) => _stack.Add(value);

    private int MarkBase() => _marks.Count == 0 ? 0 : _marks[^1];

    private object? PopValue()
    {
        if (_stack.Count <= MarkBase())
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} pops from an empty stack (or across a MARK)");
        }

        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        if (_stack.Count <= MarkBase())
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} needs a value on the stack");
        }

        return _stack[^1];
    }

    private T Top<T>(string opcode)
        where T : class =>
        Peek() as T ?? throw Fail($"{opcode} on a {PickleNames.Of(_stack[^1])}");

    private object?[] PopTop(int count)
    {
        if (_stack.Count - MarkBase() < count)
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} needs {count} values on the stack");
        }

        var items = _stack.GetRange(_stack.Count - count, count).ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    private object?[] PopToMark()
    {
        if (_marks.Count == 0)
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} without a MARK");
        }

        var mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void AddPairs(PickleDict dict, object?[] items)
    {
        if (items.Length % 2 != 0)
        {
            throw Fail($"{NameOf(_data[_opcodeAt])} with an odd number of keys and values");
        }

        for (var i = 0; i < items.Length; i += 2)
        {
            dict.Items.Add(new(items[i], items[i + 1]));
        }
    }

    private readonly ModelFormatException Fail(string message, Exception? inner = null) =>
        new(_path, $"{_entry} byte {_opcodeAt}: {message}", offset: _fileOffset + _opcodeAt, innerException: inner);
}
