namespace Bge.Extensions.VectorData;

/// <summary>
/// One collection's records as stored: per record its key, its key and data values in column order, and one row in
/// each vector property's <see cref="VectorColumn"/>. Slots stay dense: a delete moves the last record into the gap, so
/// a search scans contiguous matrices. <see cref="Schema"/> names the columns, so that every view of the collection
/// (a class's or a dictionary's) reads them the same way. Readers share <see cref="Lock"/>, writers hold it alone;
/// nothing awaits while holding it.
/// </summary>
internal sealed class CollectionRows(string schema, (int Dimension, bool SignBits)[] columns)
{
    private readonly Dictionary<object, int> _slots = [];
    private readonly List<object> _keys = [];
    private readonly List<object?[]> _values = [];
    private readonly VectorColumn[] _vectors = [.. columns.Select(c => new VectorColumn(c.Dimension, c.SignBits))];

    public string Schema { get; } = schema;

    public ReaderWriterLockSlim Lock { get; } = new(LockRecursionPolicy.NoRecursion);

    public int Count => _keys.Count;

    public bool TryFind(object key, out int slot) => _slots.TryGetValue(key, out slot);

    public object?[] Values(int slot) => _values[slot];

    public VectorColumn Vectors(int column) => _vectors[column];

    /// <summary>Inserts a record, or replaces the one with the same key in place.</summary>
    /// <param name="key">The record's key.</param>
    /// <param name="values">Its key and data values, in column order.</param>
    /// <param name="vectors">One vector per vector column, each of that column's dimension, or null where the record has none.</param>
    public void Upsert(object key, object?[] values, float[]?[] vectors)
    {
        if (!_slots.TryGetValue(key, out var slot))
        {
            slot = _keys.Count;
            foreach (var column in _vectors)
            {
                column.Reserve(slot + 1);
            }

            _slots.Add(key, slot);
            _keys.Add(key);
            _values.Add(values);
        }
        else
        {
            _values[slot] = values;
        }

        for (var c = 0; c < _vectors.Length; c++)
        {
            _vectors[c].Set(slot, vectors[c]);
        }
    }

    /// <summary>Removes the record with <paramref name="key"/>, if there is one.</summary>
    public void Delete(object key)
    {
        if (!_slots.Remove(key, out var slot))
        {
            return;
        }

        var last = _keys.Count - 1;
        if (slot != last)
        {
            _keys[slot] = _keys[last];
            _values[slot] = _values[last];
            _slots[_keys[slot]] = slot;
            foreach (var column in _vectors)
            {
                column.Move(last, slot);
            }
        }

        _keys.RemoveAt(last);
        _values.RemoveAt(last);
    }
}
