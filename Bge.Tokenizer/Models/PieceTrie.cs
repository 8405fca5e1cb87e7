using System.Numerics;

namespace Bge.Tokenizer.Models;

/// <summary>
/// A trie over the UTF-16 text of the pieces, for the prefix walk Viterbi makes at every position. The root's
/// children are a direct table; every other edge sits in one open-addressing hash table keyed by (node, unit), so a
/// step costs a multiply and, mostly, one probe, however many children a node has (▁ has thousands). An edge is one
/// 64-bit word, parent (24 bits), unit (16) and child (24), so a probe reads one slot.
/// </summary>
internal sealed class PieceTrie
{
    private readonly int[] _root = new int[char.MaxValue + 1];
    private const int NodeBits = 24;
    private const ulong ChildMask = (1UL << NodeBits) - 1;

    private readonly ulong[] _edges;
    private readonly int[] _values;
    private readonly int _shift;
    private readonly int _mask;

    /// <summary>Builds the trie; when a text occurs twice the later id wins, as Hugging Face's map does.</summary>
    /// <exception cref="InvalidDataException">The pieces need more than 2^24 trie nodes.</exception>
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

        if (values.Count > (int)ChildMask)
        {
            throw new InvalidDataException($"the pieces need {values.Count} trie nodes; at most {ChildMask} are supported");
        }

        _values = [.. values];
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, edges.Count * 2));
        _shift = 64 - BitOperations.Log2((uint)size);
        _mask = size - 1;
        _edges = new ulong[size];
        foreach (var (key, child) in edges)
        {
            var slot = Slot(key);
            while (_edges[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _edges[slot] = ((ulong)key << NodeBits) | (uint)child;
        }
    }

    /// <summary>The node reached from the root by <paramref name="c"/>, or -1.</summary>
    public int Root(char c) => _root[c];

    /// <summary>The node reached from <paramref name="node"/> by <paramref name="c"/>, or -1.</summary>
    public int Child(int node, char c)
    {
        var key = (ulong)Key(node, c);
        for (var slot = Slot((long)key); ; slot = (slot + 1) & _mask)
        {
            var edge = _edges[slot];
            if (edge >> NodeBits == key)
            {
                return (int)(edge & ChildMask);
            }

            if (edge == 0)
            {
                return -1;
            }
        }
    }

    /// <summary>How many nodes the trie has (node ids run from 0, the root, to this − 1).</summary>
    public int NodeCount => _values.Length;

    /// <summary>The id of the piece that ends at <paramref name="node"/>, or -1.</summary>
    public int Value(int node) => _values[node];

    private static long Key(int node, char c) => ((long)node << 16) | c;

    private int Slot(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> _shift);
}
