using System.Numerics.Tensors;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>One search result.</summary>
/// <param name="Index">The document's position in the index (the order it was added in).</param>
/// <param name="Text">The document.</param>
/// <param name="Score">Dot product with the query: the cosine similarity, the embeddings being normalized.</param>
public sealed record SearchHit(int Index, string Text, float Score);

/// <summary>
/// An exact semantic-search index: texts and their normalized embeddings, searched by dot product. Documents are
/// added incrementally, encoded without an instruction; queries are encoded with the model's retrieval
/// instruction. It remembers which model, dimension and pooling made it, and refuses vectors or files from
/// another. Saved as one file (<see cref="IndexFile"/>). Reads may run concurrently; adding may not run
/// alongside anything else.
/// </summary>
public sealed class EmbeddingIndex
{
    private readonly List<string> _texts = [];
    private float[] _vectors = [];

    /// <summary>An empty index for embeddings of <paramref name="model"/>.</summary>
    /// <param name="model">The model's name, as <see cref="Embedder.Name"/> gives it.</param>
    /// <param name="dimension">The embedding dimension.</param>
    /// <param name="pooling">The pooling the embeddings are made with.</param>
    public EmbeddingIndex(string model, int dimension, PoolingMode pooling)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Model = model;
        Dimension = dimension;
        Pooling = pooling;
    }

    /// <summary>The model that made the embeddings.</summary>
    public string Model { get; }

    /// <summary>The embedding dimension.</summary>
    public int Dimension { get; }

    /// <summary>The pooling the embeddings were made with.</summary>
    public PoolingMode Pooling { get; }

    /// <summary>Number of documents.</summary>
    public int Count => _texts.Count;

    /// <summary>The documents, in the order they were added.</summary>
    public IReadOnlyList<string> Texts => _texts;

    /// <summary>The embedding of document <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Vector(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _vectors.AsSpan(index * Dimension, Dimension);
    }

    /// <summary>Adds documents with their embeddings (row i for text i).</summary>
    /// <exception cref="ArgumentException">The counts or the dimension differ, or an embedding is not finite and of unit length.</exception>
    public void Add(IReadOnlyList<string> texts, EmbeddingMatrix embeddings)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Rows != texts.Count || embeddings.Columns != Dimension)
        {
            throw new ArgumentException($"{texts.Count} texts with a {embeddings.Rows} × {embeddings.Columns} embedding matrix; the index takes {Dimension} dimensions", nameof(embeddings));
        }

        for (var i = 0; i < texts.Count; i++)
        {
            Check(texts[i], embeddings.Row(i), i);
        }

        var needed = (Count + texts.Count) * Dimension;
        if (needed > _vectors.Length)
        {
            Array.Resize(ref _vectors, Math.Max(needed, Math.Min(Array.MaxLength, _vectors.Length * 2)));
        }

        embeddings.Data.AsSpan(0, texts.Count * Dimension).CopyTo(_vectors.AsSpan(Count * Dimension));
        _texts.AddRange(texts);
    }

    /// <summary>Encodes documents with <paramref name="embedder"/> (no instruction) and adds them.</summary>
    /// <exception cref="ArgumentException">The embedder is not the index's model.</exception>
    public void Add(Embedder embedder, IReadOnlyList<string> texts, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckModel(embedder);
        Add(texts, embedder.EncodeCorpus(texts, new EncodeOptions { Pooling = Pooling }, progress, cancellationToken));
    }

    /// <summary>The <paramref name="topK"/> documents with the highest dot product with a normalized query, best first (ties: earlier document first).</summary>
    /// <exception cref="ArgumentException">The query's dimension differs from the index's.</exception>
    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int topK)
    {
        var best = ExactScan.Start(query, Dimension, topK);
        ExactScan.Offer(best, query, AllVectors, 0);
        return ExactScan.Hits(best, _texts);
    }

    /// <summary>Encodes <paramref name="query"/> as a retrieval query (with the model's instruction) and searches.</summary>
    /// <exception cref="ArgumentException">The embedder is not the index's model.</exception>
    public IReadOnlyList<SearchHit> Search(Embedder embedder, string query, int topK)
    {
        CheckModel(embedder);
        ArgumentNullException.ThrowIfNull(query);
        return Search(embedder.EncodeQueries([query], new EncodeOptions { Pooling = Pooling }).Row(0), topK);
    }

    /// <summary>Writes the index to <paramref name="path"/> (atomically: a partial file is never left in its place).</summary>
    public void Save(string path) => IndexFile.Write(path, this);

    /// <summary>Reads an index file.</summary>
    /// <exception cref="IndexFormatException">The file is not an index, is from a newer format, or is corrupt.</exception>
    public static EmbeddingIndex Load(string path) => IndexFile.Read(path);

    /// <summary>Reads an index file and checks that <paramref name="embedder"/> made it.</summary>
    /// <exception cref="IndexFormatException">The file is not an index, is corrupt, or was made by another model, dimension or pooling.</exception>
    public static EmbeddingIndex Load(string path, Embedder embedder, PoolingMode? pooling = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        var index = IndexFile.Read(path);
        var expected = pooling ?? embedder.TrainedPooling;
        if (index.Model != embedder.Name || index.Dimension != embedder.Dimension || index.Pooling != expected)
        {
            throw new IndexFormatException(path, $"the index was made by {index.Model} ({index.Dimension} dimensions, {index.Pooling} pooling), not by {embedder.Name} ({embedder.Dimension} dimensions, {expected} pooling); rebuild it");
        }

        return index;
    }

    internal ReadOnlySpan<float> AllVectors => _vectors.AsSpan(0, Count * Dimension);

    internal void AddLoaded(string[] texts, float[] vectors)
    {
        _texts.AddRange(texts);
        _vectors = vectors;
    }

    private static void Check(string text, ReadOnlySpan<float> vector, int row)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckUnit(vector, row);
    }

    /// <summary>Refuses an embedding that is not finite and of unit length, naming its row.</summary>
    internal static void CheckUnit(ReadOnlySpan<float> vector, int row)
    {
        var norm = MathF.Sqrt(TensorPrimitives.Dot(vector, vector));
        if (!float.IsFinite(norm) || MathF.Abs(norm - 1) > 1e-3f)
        {
            throw new ArgumentException($"embedding {row} has norm {norm}; the index holds normalized embeddings", nameof(vector));
        }
    }

    private void CheckModel(Embedder embedder)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        if (embedder.Name != Model || embedder.Dimension != Dimension)
        {
            throw new ArgumentException($"the index holds {Model} embeddings ({Dimension} dimensions), not {embedder.Name} ({embedder.Dimension})", nameof(embedder));
        }
    }
}
