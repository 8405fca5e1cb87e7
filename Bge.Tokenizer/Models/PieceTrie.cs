using System.Numerics;

namespace Bge.Tokenizer.Models;

/// <summary>
/// A trie over the UTF-16 text of the pieces, for the prefix walk Viterbi makes at every position. The root's
/// children are a direct table; every other edge sits in one open-addressing hash table keyed by (node, unit), so a
/// step costs a multiply and, mostly, one probe, however many children a node has (▁ has thousands).
/// </summary>
internal sealed class PieceTrie
{
    private readonly int[] _root = new int[char.MaxValue + 1];
    private readonly long[] _keys;
    private readonly int[] _children;
    private readonly int[] _values;
    private readonly int _shift;
    private readonly int _mask;

    /// <summary>Builds the trie; when a text occurs twice the later id wins, as Hugging Face's map does.</summary>
    public PieceTrie(IReadOnlyList<string> pieces)
    {
        Array.Fill(_root, -1);
        var edges = new Dictionary<long, int>();
        var values = new List<int> { -1 };
        for (var id = 0; id < pieces.Count; id++)
        {
            var node = 0;
            foreach (var c in pieces[id])
            {
                var next = node == 0 ? _root[c] : edges.GetValueOrDefault(Key(node, c), -1);
                if (next < 0)
                {
                    next = values.Count;
                    values.Add(-1);
                    if (node == 0)
                    {
                        _root[c] = next;
                    }
                    else
                    {
                        edges[Key(node, c)] = next;
                    }
                }

                node = next;
            }

            if (pieces[id].Length > 0)
            {
                values[node] = id;
            }
        }

        _values = [.. values];
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, edges.Count * 2));
        _shift = 64 - BitOperations.Log2((uint)size);
        _mask = size - 1;
        _keys = new long[size];
        _children = new int[size];
        Array.Fill(_keys, -1L);
        foreach (var (key, child) in edges)
        {
            var slot = Slot(key);
            while (_keys[slot] >= 0)
            {
                slot = (slot + 1) & _mask;
            }

            _keys[slot] = key;
            _children[slot] = child;
        }
    }

    /// <summary>The node reached from the root by <paramref name="c"/>, or -1.</summary>
    public int Root(char c) => _root[c];

    /// <summary>The node reached from <paramref name="node"/> by <paramref name="c"/>, or -1.</summary>
    public int Child(int node, char c)
    {
        var key = Key(node, c);
        for (var slot = Slot(key); ; slot = (slot + 1) & _mask)
        {
            var found = _keys[slot];
            if (found == key)
            {
                return _children[slot];
            }

            if (found < 0)
            {
                return -1;
            }
        }
    }

    /// <summary>The id of the piece that ends at <paramref name="node"/>, or -1.</summary>
    public int Value(int node) => _values[node];

    private static long Key(int node, char c) => ((long)node << 16) | c;

    private int Slot(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> _shift);
}
