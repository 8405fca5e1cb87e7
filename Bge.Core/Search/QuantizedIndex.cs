using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Bge.Core.Compression;
using Bge.Core.Kernels;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>
/// Exact search over compressed embeddings with rescoring, for corpora too large to scan or hold as float32: binary
/// codes (Hamming distance) or int8 codes (integer dot products) are resident and scanned in full; the best
/// <c>k × rescoreMultiplier</c> candidates are then rescored with their float32 vectors, memory-mapped from the index
/// file so only the candidates' pages are read. Persisted like <see cref="EmbeddingIndex"/>: one checksummed file,
/// replaced atomically.
/// </summary>
public sealed class QuantizedIndex : IDisposable
{
    private readonly CodeRows _codes;
    private readonly string[] _texts;

    internal QuantizedIndex(string model, PoolingMode pooling, VectorQuantization form, int dimension, QuantizationRanges? ranges, CodeRows codes, RescoringVectors vectors, string[] texts)
    {
        (Model, Pooling, Form, Dimension, Ranges, _codes, Vectors, _texts) = (model, pooling, form, dimension, ranges, codes, vectors, texts);
        BytesPerVector = form == VectorQuantization.Binary ? (dimension + 7) / 8 : dimension;
    }

    /// <summary>The model that made the embeddings.</summary>
    public string Model { get; }

    /// <summary>Their pooling.</summary>
    public PoolingMode Pooling { get; }

    /// <summary>How the resident codes are formed: <see cref="VectorQuantization.Binary"/> or <see cref="VectorQuantization.Int8"/>.</summary>
    public VectorQuantization Form { get; }

    /// <summary>Dimensions of each embedding (after any Matryoshka truncation).</summary>
    public int Dimension { get; }

    /// <summary>The int8 calibration ranges (null for binary).</summary>
    public QuantizationRanges? Ranges { get; }

    /// <summary>Resident bytes per embedding: its code.</summary>
    public int BytesPerVector { get; }

    /// <summary>Documents held.</summary>
    public int Count => _texts.Length;

    /// <summary>The documents' texts, in index order.</summary>
    public IReadOnlyList<string> Texts => _texts;

    internal RescoringVectors Vectors { get; }

    /// <summary>
    /// An index of normalized embeddings and their texts. Int8 codes take their ranges from <paramref name="ranges"/>,
    /// or from the embeddings themselves when null, as sentence-transformers does.
    /// </summary>
    /// <exception cref="ArgumentException">Counts differ, the form is not binary or int8, or the ranges are of another dimension.</exception>
    public static QuantizedIndex Build(string model, PoolingMode pooling, EmbeddingMatrix embeddings, IReadOnlyList<string> texts, VectorQuantization form, QuantizationRanges? ranges = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count != embeddings.Rows)
        {
            throw new ArgumentException($"{texts.Count} texts for {embeddings.Rows} embeddings", nameof(texts));
        }

        if (form is not (VectorQuantization.Binary or VectorQuantization.Int8))
        {
            throw new ArgumentException($"a quantized index holds binary or int8 codes, not {form}", nameof(form));
        }

        if (form == VectorQuantization.Int8)
        {
            ranges ??= embeddings.Rows > 0 ? QuantizationRanges.From(embeddings) : throw new ArgumentException("int8 codes need ranges or at least one embedding", nameof(ranges));
        }
        else
        {
            ranges = null;
        }

        for (var r = 0; r < embeddings.Rows; r++)
        {
            ArgumentNullException.ThrowIfNull(texts[r], nameof(texts));
            EmbeddingIndex.CheckUnit(embeddings.Row(r), r);
        }

        // Binary codes are kept unsigned (packbits as is): Hamming distance is the same either way.
        var quantized = EmbeddingQuantizer.Quantize(embeddings, form == VectorQuantization.Binary ? VectorQuantization.UBinary : form, ranges);
        var codes = new CodeRows(quantized.Rows, quantized.BytesPerRow);
        for (var r = 0; r < quantized.Rows; r++)
        {
            quantized.Row(r).CopyTo(codes.Row(r));
        }

        return new QuantizedIndex(model, pooling, form, embeddings.Columns, ranges, codes, new RescoringVectors((float[])embeddings.Data.Clone(), embeddings.Columns), [.. texts]);
    }

    /// <summary>Embeds <paramref name="texts"/> as documents (cut to <paramref name="dimensions"/> when given) and indexes them.</summary>
    public static QuantizedIndex Build(Embedder embedder, IReadOnlyList<string> texts, VectorQuantization form, int? dimensions = null, QuantizationRanges? ranges = null, IProgress<EncodeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        var embeddings = embedder.EncodeCorpus(texts, new EncodeOptions { Dimensions = dimensions }, progress, cancellationToken);
        return Build(embedder.Name, embedder.TrainedPooling, embeddings, texts, form, ranges);
    }

    /// <summary>
    /// The <paramref name="topK"/> best documents for a normalized query: every code compared with the query's, then,
    /// when <paramref name="rescoreMultiplier"/> is above zero, the best <c>topK × rescoreMultiplier</c> rescored by the
    /// float32 dot product. Without rescoring the scores are the codes' estimates: for binary codes the dot product of
    /// the ±1 vectors over the dimension (1 − 2 × Hamming / d), for int8 the dot product with the codes' values.
    /// </summary>
    /// <exception cref="ArgumentException">The query has another dimension.</exception>
    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> query, int topK, int rescoreMultiplier = 0, SimdWidth? simd = null)
    {
        if (query.Length != Dimension)
        {
            throw new ArgumentException($"the query has {query.Length} dimensions, the index {Dimension}", nameof(query));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rescoreMultiplier);
        var width = simd ?? Simd.Default;
        var queryArray = query.ToArray();
        var pool = rescoreMultiplier > 0 ? (int)Math.Min((long)topK * rescoreMultiplier, int.MaxValue) : topK;
        (int Index, float Score)[] candidates;
        Func<int, float> estimate;
        if (Form == VectorQuantization.Binary)
        {
            var bits = new byte[BytesPerVector];
            EmbeddingQuantizer.PackSigns(query, bits, signed: false);
            candidates = ScanBinary(bits, pool, width);
            estimate = d => 1f - (2f * CodeDistance.Hamming(bits, _codes.Row(d), width) / Dimension);
        }
        else
        {
            // The query's dot product with a document's dequantized values, min + (code + 128) · step, is
            // Σ q·(min + 128·step) + Σ (q·step)·code: the second sum in integers, with q·step cut to int8.
            var weights = new float[Dimension];
            TensorPrimitives.Multiply(query, Ranges!.Steps, weights);
            var weightCodes = new sbyte[Dimension];
            SymmetricInt8.Quantize(weights, weightCodes);

            candidates = ScanInt8(weightCodes, pool, width);
            estimate = d => TensorPrimitives.Dot(queryArray, Dequantize(d));
        }

        var ranked = rescoreMultiplier > 0
            ? TopK.Select(candidates.Select(c => c.Index), topK, d => TensorPrimitives.Dot(queryArray, Vectors.Row(d)))
            : [.. candidates.Select(c => (c.Index, estimate(c.Index)))];
        return [.. ranked.Select(hit => new SearchHit(hit.Index, _texts[hit.Index], hit.Score))];
    }

    /// <summary>Encodes <paramref name="query"/> as a retrieval query (instruction, truncation to the index's dimension) and searches.</summary>
    /// <exception cref="ArgumentException">The embedder is not the index's model.</exception>
    public IReadOnlyList<SearchHit> Search(Embedder embedder, string query, int topK, int rescoreMultiplier = 0)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(query);
        if (embedder.Name != Model || embedder.Dimension < Dimension)
        {
            throw new ArgumentException($"the index holds {Model} embeddings ({Dimension} dimensions), not {embedder.Name}'s ({embedder.Dimension})", nameof(embedder));
        }

        var vector = embedder.EncodeQueries([query], new EncodeOptions { Pooling = Pooling, Dimensions = Dimension });
        return Search(vector.Row(0), topK, rescoreMultiplier, embedder.Model.Simd);
    }

    // Every document's int8 dot product with the query's weights; a row scoring no more than the weakest kept is not
    // offered.
    private (int Index, float Score)[] ScanInt8(sbyte[] weightCodes, int pool, SimdWidth width)
    {
        var best = new TopK(pool);
        ForEachBlock((first, rows, block) =>
        {
            var codes = MemoryMarshal.Cast<byte, sbyte>(block.AsSpan());
            var threshold = best.Threshold;
            for (var r = 0; r < rows; r++)
            {
                var dot = CodeDistance.Dot(weightCodes, codes.Slice(r * Dimension, Dimension), width);
                if (dot > threshold)
                {
                    best.Add(first + r, dot);
                    threshold = best.Threshold;
                }
            }
        });
        return best.Best();
    }

    // Every document's Hamming distance to the query's bits, as a score (its negation). Codes of whole 64-bit words
    // (any dimension that is a multiple of 64) are compared word by word with the popcount instruction in one loop.
    private (int Index, float Score)[] ScanBinary(byte[] bits, int pool, SimdWidth width)
    {
        var best = new TopK(pool);
        if (BytesPerVector % 8 != 0 || BytesPerVector > 64 * 8)
        {
            ForEachBlock((first, rows, block) =>
            {
                for (var r = 0; r < rows; r++)
                {
                    best.Add(first + r, -CodeDistance.Hamming(bits, block.AsSpan(r * BytesPerVector, BytesPerVector), width));
                }
            });
            return best.Best();
        }

        var perVector = BytesPerVector / sizeof(ulong);
        ForEachBlock((first, rows, block) =>
        {
            // Rows are read by reference: the span indexers' bounds checks cost as much as the popcounts here.
            ref var query = ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetArrayDataReference(bits));
            ref var words = ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetArrayDataReference(block));
            if (perVector == 6)
            {
                ScanSixWords(ref query, ref words, first, rows, best);
                return;
            }

            var threshold = best.Threshold;
            for (var r = 0; r < rows; r++)
            {
                ref var row = ref Unsafe.Add(ref words, (nint)r * perVector);
                var distance = 0;
                var w = 0;
                for (; w + 4 <= perVector; w += 4)
                {
                    distance += BitOperations.PopCount(Unsafe.Add(ref row, w) ^ Unsafe.Add(ref query, w))
                        + BitOperations.PopCount(Unsafe.Add(ref row, w + 1) ^ Unsafe.Add(ref query, w + 1))
                        + BitOperations.PopCount(Unsafe.Add(ref row, w + 2) ^ Unsafe.Add(ref query, w + 2))
                        + BitOperations.PopCount(Unsafe.Add(ref row, w + 3) ^ Unsafe.Add(ref query, w + 3));
                }

                for (; w < perVector; w++)
                {
                    distance += BitOperations.PopCount(Unsafe.Add(ref row, w) ^ Unsafe.Add(ref query, w));
                }

                if (-distance > threshold)
                {
                    best.Add(first + r, -distance);
                    threshold = best.Threshold;
                }
            }
        });
        return best.Best();
    }

    // 384 bits, the width of the small models (bge-small, MiniLM, arctic-xs): the query's six words held in registers
    // for the whole scan made it 25–30% faster than the loop over any width (10M rows, Zen 5).
    private static void ScanSixWords(ref ulong query, ref ulong words, int first, int rows, TopK best)
    {
        ulong q0 = query, q1 = Unsafe.Add(ref query, 1), q2 = Unsafe.Add(ref query, 2);
        ulong q3 = Unsafe.Add(ref query, 3), q4 = Unsafe.Add(ref query, 4), q5 = Unsafe.Add(ref query, 5);
        var threshold = best.Threshold;
        for (var r = 0; r < rows; r++)
        {
            ref var row = ref Unsafe.Add(ref words, (nint)r * 6);
            var distance = BitOperations.PopCount(row ^ q0) + BitOperations.PopCount(Unsafe.Add(ref row, 1) ^ q1)
                + BitOperations.PopCount(Unsafe.Add(ref row, 2) ^ q2) + BitOperations.PopCount(Unsafe.Add(ref row, 3) ^ q3)
                + BitOperations.PopCount(Unsafe.Add(ref row, 4) ^ q4) + BitOperations.PopCount(Unsafe.Add(ref row, 5) ^ q5);
            if (-distance > threshold)
            {
                best.Add(first + r, -distance);
                threshold = best.Threshold;
            }
        }
    }

    // Each block of codes with the index of its first row and its row count.
    private void ForEachBlock(Action<int, int, byte[]> scan)
    {
        for (var b = 0; b < _codes.Blocks.Count; b++)
        {
            var block = _codes.Blocks[b];
            scan(b * _codes.RowsPerBlock, block.Length / BytesPerVector, block);
        }
    }

    /// <summary>
    /// Exact search by the float32 dot product with every document's vector, read from the index file a block at a
    /// time: the answer rescoring every document gives, at the cost of reading all the vectors (from the page cache or
    /// the disk) on every call.
    /// </summary>
    /// <exception cref="ArgumentException">The query has another dimension.</exception>
    /// <exception cref="IndexFormatException">The file was shortened after it was opened.</exception>
    public IReadOnlyList<SearchHit> SearchExact(ReadOnlySpan<float> query, int topK)
    {
        var best = ExactScan.Start(query, Dimension, topK);
        Vectors.Scan(query, best);
        return ExactScan.Hits(best, _texts);
    }

    // Document d's int8 codes as the values they stand for: the middle of each code's step.
    private float[] Dequantize(int document)
    {
        var values = new float[Dimension];
        var codes = _codes.Row(document);
        for (var i = 0; i < Dimension; i++)
        {
            values[i] = Ranges!.Min[i] + (((sbyte)codes[i] + 128.5f) * Ranges.Steps[i]);
        }

        return values;
    }

    /// <summary>Writes the index to <paramref name="path"/>, replacing any file there only once the new one is whole.</summary>
    public void Save(string path)
    {
        using var writer = new QuantizedIndexWriter(path, Model, Pooling, Form, Dimension, Ranges);
        const int batch = 4096;
        for (var first = 0; first < Count; first += batch)
        {
            var rows = Math.Min(batch, Count - first);
            var vectors = new float[rows * Dimension];
            for (var r = 0; r < rows; r++)
            {
                Vectors.Row(first + r).CopyTo(vectors.AsSpan(r * Dimension));
            }

            writer.Add(new ArraySegment<string>(_texts, first, rows), new EmbeddingMatrix(vectors, rows, Dimension));
        }

        writer.Complete();
    }

    /// <summary>Opens an index file: codes and texts read and checked, the float32 vectors checked and memory-mapped.</summary>
    /// <exception cref="IndexFormatException">The file is not a quantized index, is from a newer format, or is truncated or corrupt.</exception>
    public static QuantizedIndex Open(string path) => QuantizedIndexFile.Read(path);

    /// <summary>Opens an index file and checks that <paramref name="embedder"/> made it, with the form and dimension expected when given.</summary>
    /// <exception cref="IndexFormatException">As <see cref="Open(string)"/>, or the index was made by another model, form or dimension (both named).</exception>
    public static QuantizedIndex Open(string path, Embedder embedder, VectorQuantization? form = null, int? dimensions = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        var index = QuantizedIndexFile.Read(path);
        var expected = $"{embedder.Name} ({form?.ToString() ?? index.Form.ToString()}, {dimensions ?? index.Dimension} dimensions)";
        var actual = $"{index.Model} ({index.Form}, {index.Dimension} dimensions)";
        if (index.Model != embedder.Name || (form is { } f && f != index.Form) || (dimensions is { } d && d != index.Dimension) || index.Dimension > embedder.Dimension)
        {
            index.Dispose();
            throw new IndexFormatException(path, $"the index holds {actual}, not {expected}; rebuild it");
        }

        return index;
    }

    /// <summary>Whether <paramref name="path"/> is an existing file that begins as a quantized index does (its magic; nothing else is checked).</summary>
    public static bool IsQuantizedIndexFile(string path) => QuantizedIndexFile.HasMagic(path);

    /// <summary>Releases the memory map.</summary>
    public void Dispose() => Vectors.Dispose();
}
