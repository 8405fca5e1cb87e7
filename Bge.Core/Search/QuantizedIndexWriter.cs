using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Bge.Core.Compression;
using Bge.Weights;

namespace Bge.Core.Search;

/// <summary>
/// Writes a quantized index file from batches of embeddings, so an index of any size is built without holding its
/// float32 vectors: they go straight to the file, the codes and texts to scratch files beside it, which are appended
/// when <see cref="Complete"/> is called. Until then nothing replaces the file at the path; disposing without
/// completing deletes what was written. Int8 codes without given ranges take them from all the embeddings added, so
/// they are formed at completion by reading the written vectors back.
/// </summary>
public sealed class QuantizedIndexWriter : IDisposable
{
    private const int BatchRows = 8192;
    private readonly string _path;
    private readonly string _temporary;
    private readonly FileStream _file;
    private readonly FileStream _codes;
    private readonly FileStream _texts;
    private readonly IncrementalHash _vectorHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _codeHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _textHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly float[]? _min;
    private readonly float[]? _max;
    private QuantizationRanges? _ranges;
    private bool _completed;

    /// <summary>Starts an index file at <paramref name="path"/> (written beside it, moved into place by <see cref="Complete"/>).</summary>
    /// <param name="path">The index file to create or replace.</param>
    /// <param name="model">The model that makes the embeddings.</param>
    /// <param name="pooling">Their pooling.</param>
    /// <param name="form"><see cref="VectorQuantization.Binary"/> or <see cref="VectorQuantization.Int8"/>.</param>
    /// <param name="dimension">Dimensions of each embedding.</param>
    /// <param name="ranges">Int8 calibration ranges; null takes them from the embeddings added, as sentence-transformers does.</param>
    /// <exception cref="ArgumentException">The form is not binary or int8, or the ranges are of another dimension.</exception>
    public QuantizedIndexWriter(string path, string model, PoolingMode pooling, VectorQuantization form, int dimension, QuantizationRanges? ranges = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, QuantizedIndexFile.MaxDimension);
        if (form is not (VectorQuantization.Binary or VectorQuantization.Int8))
        {
            throw new ArgumentException($"a quantized index holds binary or int8 codes, not {form}", nameof(form));
        }

        if (form == VectorQuantization.Int8 && ranges is not null && ranges.Dimension != dimension)
        {
            throw new ArgumentException($"ranges of {ranges.Dimension} dimensions for embeddings of {dimension}", nameof(ranges));
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("index files are little-endian");
        }

        (Model, Pooling, Form, Dimension) = (model, pooling, form, dimension);
        BytesPerVector = form == VectorQuantization.Binary ? (dimension + 7) / 8 : dimension;
        _ranges = form == VectorQuantization.Int8 ? ranges : null;
        if (form == VectorQuantization.Int8 && ranges is null)
        {
            (_min, _max) = (new float[dimension], new float[dimension]);
            Array.Fill(_min, float.PositiveInfinity);
            Array.Fill(_max, float.NegativeInfinity);
        }

        _path = Path.GetFullPath(path);
        _temporary = $"{_path}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _file = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 20);
        _codes = Scratch("codes");
        _texts = Scratch("texts");
        _file.Write(new byte[QuantizedIndexFile.VectorsAt]);
    }

    /// <summary>The model that makes the embeddings.</summary>
    public string Model { get; }

    /// <summary>Their pooling.</summary>
    public PoolingMode Pooling { get; }

    /// <summary>The codes' form.</summary>
    public VectorQuantization Form { get; }

    /// <summary>Dimensions of each embedding.</summary>
    public int Dimension { get; }

    /// <summary>Bytes of each code.</summary>
    public int BytesPerVector { get; }

    /// <summary>Documents added so far.</summary>
    public int Count { get; private set; }

    /// <summary>Adds documents with their normalized embeddings (row i for text i).</summary>
    /// <exception cref="ArgumentException">The counts or the dimension differ, or an embedding is not finite and of unit length.</exception>
    /// <exception cref="InvalidOperationException">The file is already complete, or would hold more than 2³¹ − 1 documents.</exception>
    public void Add(IReadOnlyList<string> texts, EmbeddingMatrix embeddings)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(embeddings);
        ObjectDisposedException.ThrowIf(_completed, this);
        if (embeddings.Rows != texts.Count || embeddings.Columns != Dimension)
        {
            throw new ArgumentException($"{texts.Count} texts with a {embeddings.Rows} × {embeddings.Columns} embedding matrix; the index takes {Dimension} dimensions", nameof(embeddings));
        }

        if ((long)Count + texts.Count > int.MaxValue)
        {
            throw new InvalidOperationException($"an index holds at most {int.MaxValue} documents");
        }

        for (var r = 0; r < texts.Count; r++)
        {
            ArgumentNullException.ThrowIfNull(texts[r], nameof(texts));
            var row = embeddings.Row(r);
            EmbeddingIndex.CheckUnit(row, Count + r);
            var bytes = MemoryMarshal.AsBytes(row);
            _file.Write(bytes);
            _vectorHash.AppendData(bytes);
            if (_min is not null)
            {
                TensorPrimitives.Min(_min, row, _min);
                TensorPrimitives.Max(_max!, row, _max);
            }
        }

        Span<byte> word = stackalloc byte[4];
        foreach (var text in texts)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)bytes.Length);
            Append(_texts, _textHash, word);
            Append(_texts, _textHash, bytes);
        }

        if (_min is null)
        {
            WriteCodes(embeddings);
        }

        Count += texts.Count;
    }

    /// <summary>Writes the codes, texts and header after the vectors and moves the file into place.</summary>
    /// <exception cref="InvalidOperationException">Int8 codes without ranges and no embeddings added.</exception>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_min is not null)
        {
            if (Count == 0)
            {
                throw new InvalidOperationException("int8 codes need ranges or at least one embedding");
            }

            _ranges = new QuantizationRanges(_min, _max!);
            CodesFromWrittenVectors();
        }

        foreach (var scratch in new[] { _codes, _texts })
        {
            scratch.Position = 0;
            scratch.CopyTo(_file);
        }

        var trailer = _file.Position;
        var header = QuantizedIndexFile.Header(Model, Pooling, Form, Dimension, Count, _ranges);
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)header.Length);
        _file.Write(word[..4]);
        _file.Write(header);
        _file.Write(SHA256.HashData(header));
        _file.Write(_vectorHash.GetHashAndReset());
        _file.Write(_codeHash.GetHashAndReset());
        _file.Write(_textHash.GetHashAndReset());
        _file.Position = 0;
        QuantizedIndexFile.WritePreamble(_file, trailer);
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_temporary, _path, overwrite: true);
        _completed = true;
        Dispose();
    }

    /// <summary>Deletes what was written unless <see cref="Complete"/> moved it into place.</summary>
    public void Dispose()
    {
        _file.Dispose();
        _codes.Dispose();
        _texts.Dispose();
        _vectorHash.Dispose();
        _codeHash.Dispose();
        _textHash.Dispose();
        if (!_completed)
        {
            File.Delete(_temporary);
        }

        _completed = true;
    }

    private FileStream Scratch(string part) =>
        new($"{_temporary}.{part}", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose);

    private static void Append(FileStream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        hash.AppendData(bytes);
    }

    // Binary codes are kept unsigned (packbits as is): Hamming distance is the same either way.
    private void WriteCodes(EmbeddingMatrix embeddings)
    {
        var codes = EmbeddingQuantizer.Quantize(embeddings, Form == VectorQuantization.Binary ? VectorQuantization.UBinary : Form, _ranges);
        Append(_codes, _codeHash, codes.Data.AsSpan(0, codes.Rows * codes.BytesPerRow));
    }

    // The ranges are known only once every embedding is in: read the vectors back in batches and quantize them.
    private void CodesFromWrittenVectors()
    {
        _file.Flush();
        using var vectors = new FileStream(_temporary, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        vectors.Position = QuantizedIndexFile.VectorsAt;
        var buffer = new float[BatchRows * Dimension];
        for (var done = 0; done < Count;)
        {
            var rows = Math.Min(BatchRows, Count - done);
            buffer = rows < BatchRows ? new float[rows * Dimension] : buffer;
            vectors.ReadExactly(MemoryMarshal.AsBytes(buffer.AsSpan(0, rows * Dimension)));
            WriteCodes(new EmbeddingMatrix(buffer, rows, Dimension));
            done += rows;
        }
    }
}
