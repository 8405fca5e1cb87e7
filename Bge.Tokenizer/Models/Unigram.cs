using System.Text;
using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.Models;

/// <summary>
/// sentencepiece's Unigram model as Hugging Face runs it: the segmentation of a word with the highest total piece
/// score (Viterbi, scores summed in double), a code point no piece covers scored <c>min_score − 10</c> and given the
/// unknown id, and consecutive unknown code points fused into one unknown token.
/// </summary>
internal sealed class Unigram : ITokenModel
{
    private const double UnknownPenalty = 10.0;

    [ThreadStatic]
    private static Lattice? _lattice;

    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly PieceTrie _trie;

    // The score of the piece ending at each trie node, so the search reads it beside the node's id rather than
    // through it (one dependent load less per piece found).
    private readonly double[] _nodeScores;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ids;
    private readonly double _unknownScore;

    /// <summary>Builds the model.</summary>
    /// <param name="pieces">Piece text by id.</param>
    /// <param name="scores">Piece log-probability by id.</param>
    /// <param name="unknownId">The unknown piece's id.</param>
    public Unigram(IReadOnlyList<string> pieces, IReadOnlyList<double> scores, int unknownId)
    {
        _pieces = [.. pieces];
        _scores = [.. scores];
        UnknownId = unknownId;
        _trie = new PieceTrie(_pieces);
        _nodeScores = new double[_trie.NodeCount];
        for (var node = 0; node < _nodeScores.Length; node++)
        {
            var piece = _trie.Value(node);
            _nodeScores[node] = piece >= 0 ? _scores[piece] : 0;
        }

        var ids = new Dictionary<string, int>(_pieces.Length, StringComparer.Ordinal);
        for (var id = 0; id < _pieces.Length; id++)
        {
            ids[_pieces[id]] = id;
        }

        _ids = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _unknownScore = (_scores.Length == 0 ? 0 : _scores.Min()) - UnknownPenalty;
    }

    public int Count => _pieces.Length;

    public int UnknownId { get; }

    public int WordCapacity => int.MaxValue;

    public void Tokenize(WordBuffer word, TokenList into)
    {
        var chars = word.Chars;
        var n = chars.Length;
        var lattice = _lattice ??= new Lattice();
        var cache = n <= WordCache.MaxWordLength ? lattice.CacheOf(this) : null;
        var hash = 0;
        if (cache is not null && cache.TryGet(chars, out hash, out var known))
        {
            for (var t = 0; t < known.Length; t += 3)
            {
                into.Add(known[t], word.From(known[t + 1]), word.To(known[t + 2] - 1));
            }

            return;
        }

        var best = lattice.Reset(n);
        for (var start = 0; start < n;)
        {
            var width = char.IsHighSurrogate(chars[start]) && start + 1 < n && char.IsLowSurrogate(chars[start + 1]) ? 2 : 1;
            var reached = best[start].Score;
            var single = false;
            var node = _trie.Root(chars[start]);
            for (var end = start + 1; node >= 0; end++)
            {
                var id = _trie.Value(node);
                if (id >= 0)
                {
                    var candidate = reached + _nodeScores[node];
                    ref var target = ref best[end];
                    if (target.From < 0 || candidate > target.Score)
                    {
                        target = new Step(candidate, start, id);
                    }

                    single |= end - start == width;
                }

                node = end < n ? _trie.Child(node, chars[end]) : -1;
            }

            if (!single)
            {
                var candidate = reached + _unknownScore;
                ref var target = ref best[start + width];
                if (target.From < 0 || candidate > target.Score)
                {
                    target = new Step(candidate, start, UnknownId);
                }
            }

            start += width;
        }

        Emit(word, lattice, into, cache, hash);
    }

    public string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;

    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _ids.TryGetValue(token, out id);

    public string Decode(IEnumerable<string> pieces)
    {
        var text = new StringBuilder();
        foreach (var piece in pieces)
        {
            text.Append(piece);
        }

        text.Replace(PreTokenizers.Metaspace.DefaultReplacement, ' ');
        return text.Length > 0 && text[0] == ' ' ? text.ToString(1, text.Length - 1) : text.ToString();
    }

    /// <summary>Walks the best path back from the end, then appends it forwards, fusing runs of unknown pieces.</summary>
    private void Emit(WordBuffer word, Lattice lattice, TokenList into, WordCache? cache, int hash)
    {
        var path = lattice.Path;
        var count = 0;
        var best = lattice.Best;
        for (var end = word.Length; end > 0; end = best[end].From)
        {
            path[count++] = end;
        }

        var packed = lattice.Packed(3 * count);
        var tokens = 0;
        void Add(int id, int start, int end)
        {
            into.Add(id, word.From(start), word.To(end - 1));
            packed[3 * tokens] = id;
            packed[(3 * tokens) + 1] = start;
            packed[(3 * tokens) + 2] = end;
            tokens++;
        }

        var runStart = -1;
        var runEnd = -1;
        for (var k = count - 1; k >= 0; k--)
        {
            var end = path[k];
            var (_, start, id) = best[end];
            if (id == UnknownId)
            {
                runStart = runStart < 0 ? start : runStart;
                runEnd = end;
                continue;
            }

            if (runStart >= 0)
            {
                Add(UnknownId, runStart, runEnd);
                runStart = -1;
            }

            Add(id, start, end);
        }

        if (runStart >= 0)
        {
            Add(UnknownId, runStart, runEnd);
        }

        cache?.Add(word.Chars, hash, packed.AsSpan(0, 3 * tokens));
    }

    /// <summary>The best path to a position: its score, where its last piece starts (-1: not reached yet), the piece.</summary>
    private readonly record struct Step(double Score, int From, int Id);

    /// <summary>Per-thread Viterbi arrays, grown to the longest word seen.</summary>
    private sealed class Lattice
    {
        public Step[] Best { get; private set; } = new Step[64];

        public int[] Path { get; private set; } = new int[64];

        private WordCache? _cache;
        private int[] _packed = new int[96];

        public WordCache CacheOf(Unigram model) => _cache is { } cache && cache.Owner == model ? cache : _cache = new WordCache(model);

        public int[] Packed(int length)
        {
            if (_packed.Length < length)
            {
                _packed = new int[Math.Max(length, 2 * _packed.Length)];
            }

            return _packed;
        }

        public Step[] Reset(int length)
        {
            if (length + 1 > Best.Length)
            {
                var size = Math.Max(length + 1, 2 * Best.Length);
                Best = new Step[size];
                Path = new int[size];
            }

            Best[0] = new Step(0, 0, -1);
            Best.AsSpan(1, length).Fill(new Step(0, -1, -1));
            return Best;
        }
    }
}
