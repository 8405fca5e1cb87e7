namespace Bge.Tokenizer.Models;

/// <summary>
/// A trie over the UTF-16 text of the pieces, for the prefix walk Viterbi makes at every position. The root is a
/// direct table (one lookup for the first unit); deeper nodes keep their children in sorted runs of flat arrays.
/// </summary>
internal sealed class PieceTrie
{
    private readonly int[] _root = new int[char.MaxValue + 1];
    private readonly int[] _firstChild;
    private readonly int[] _childCount;
    private readonly char[] _labels;
    private readonly int[] _children;
    private readonly int[] _values;

    /// <summary>Builds the trie; when a text occurs twice the later id wins, as Hugging Face's map does.</summary>
    public PieceTrie(IReadOnlyList<string> pieces)
    {
        var nodes = new List<SortedDictionary<char, int>> { new() };
        var values = new List<int> { -1 };
        for (var id = 0; id < pieces.Count; id++)
        {
            var node = 0;
            foreach (var c in pieces[id])
            {
                if (!nodes[node].TryGetValue(c, out var child))
                {
                    child = nodes.Count;
                    nodes[node][c] = child;
                    nodes.Add([]);
                    values.Add(-1);
                }

                node = child;
            }

            if (pieces[id].Length > 0)
            {
                values[node] = id;
            }
        }

        _firstChild = new int[nodes.Count];
        _childCount = new int[nodes.Count];
        _labels = new char[nodes.Count];
        _children = new int[nodes.Count];
        _values = [.. values];
        var next = 0;
        for (var n = 0; n < nodes.Count; n++)
        {
            _firstChild[n] = next;
            _childCount[n] = nodes[n].Count;
            foreach (var (label, child) in nodes[n])
            {
                _labels[next] = label;
                _children[next++] = child;
            }
        }

        Array.Fill(_root, -1);
        foreach (var (label, child) in nodes[0])
        {
            _root[label] = child;
        }
    }

    /// <summary>The node reached from the root by <paramref name="c"/>, or -1.</summary>
    public int Root(char c) => _root[c];

    /// <summary>The node reached from <paramref name="node"/> by <paramref name="c"/>, or -1.</summary>
    public int Child(int node, char c)
    {
        var lo = _firstChild[node];
        var hi = lo + _childCount[node] - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var label = _labels[mid];
            if (label == c)
            {
                return _children[mid];
            }

            if (label < c)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }

    /// <summary>The id of the piece that ends at <paramref name="node"/>, or -1.</summary>
    public int Value(int node) => _values[node];
}
