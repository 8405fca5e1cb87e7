using System.Text;
using Bge.Weights.SafeTensors;

namespace Bge.Weights.Torch;

/// <summary>
/// A PyTorch checkpoint in the zip format <c>torch.save</c> writes since 1.6 (<c>pytorch_model.bin</c>, <c>*.pt</c>),
/// read without running any of it: <c>{prefix}/data.pkl</c> is unpickled by a machine that knows a fixed set of
/// opcodes and allowed globals and calls nothing, and must hold a state dict (names to tensors); each tensor's bytes
/// are served zero-copy, memory-mapped, from its stored <c>{prefix}/data/{key}</c> record. Everything is validated
/// when the file is opened.
/// </summary>
/// <remarks>
/// A tensor's <see cref="TensorInfo.Begin"/> is its first byte counted from the start of the file. Records must be
/// stored (uncompressed, as torch.save writes them), <c>{prefix}/byteorder</c> must say <c>little</c> when present,
/// and tensors must be contiguous. The records torch 2.4+ adds (<c>.format_version</c>, <c>.storage_alignment</c>,
/// <c>.data/serialization_id</c>) are ignored. Legacy files (torch.save before 1.6, or with
/// <c>_use_new_zipfile_serialization=False</c>) are refused with the line of Python that re-saves them.
/// </remarks>
public sealed class TorchCheckpoint : ITensorFile
{
    /// <summary>The newest <c>{prefix}/version</c> this reader knows (PyTorch's own reader accepts no newer one either).</summary>
    public const int MaxFormatVersion = 10;

    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();

    private readonly MappedTensors _tensors;

    private TorchCheckpoint(MappedTensors tensors, string prefix)
    {
        _tensors = tensors;
        RecordPrefix = prefix;
    }

    /// <inheritdoc />
    public string FilePath => _tensors.FilePath;

    /// <summary>The folder every record lies in, with its slash (<c>archive/</c>, <c>pytorch_model/</c>, …).</summary>
    public string RecordPrefix { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, TensorInfo> Tensors => _tensors.Tensors;

    /// <summary>Always empty: a checkpoint carries no string metadata (its state dict's <c>_metadata</c> holds module versions only).</summary>
    public IReadOnlyDictionary<string, string> Metadata => NoMetadata;

    /// <summary>Opens and validates a PyTorch zip checkpoint.</summary>
    /// <exception cref="ModelFormatException">
    /// The file is not a valid checkpoint, is a legacy one, or its pickle uses an opcode or global outside the allowed
    /// set (the message names it, e.g. <c>GLOBAL 'os.system' is not an allowed global</c>, and its byte offset).
    /// </exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static TorchCheckpoint Open(string path)
    {
        var file = MappedFile.Open(path, 4, "too short to be a PyTorch checkpoint");
        try
        {
            var start = file.Bytes(0, Math.Min(file.Length, 512), "file start");
            if (!ZipDirectory.LooksLikeZip(start))
            {
                throw NotZip(path, start);
            }

            var records = ZipDirectory.Read(file);
            var prefix = FindPrefix(path, records);
            CheckByteOrder(file, records, prefix);
            CheckVersion(file, records, prefix);
            var pickle = records[prefix + "data.pkl"];
            var root = Unpickler.Load(file.Bytes(pickle.DataOffset, pickle.Length, pickle.Name), path, pickle.Name, pickle.DataOffset);
            return new TorchCheckpoint(new MappedTensors(file, 0, StateDict.Place(root, records, prefix, path)), prefix);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetBytes(string name) => _tensors.GetBytes(name);

    /// <inheritdoc />
    public void CopyToFloat32(string name, Span<float> destination) => _tensors.CopyToFloat32(name, destination);

    /// <inheritdoc />
    public void CopyToFloat32(string name, long firstElement, Span<float> destination) => _tensors.CopyToFloat32(name, firstElement, destination);

    /// <inheritdoc />
    public float[] ReadFloat32(string name) => _tensors.ReadFloat32(name);

    /// <inheritdoc />
    public void Dispose() => _tensors.Dispose();

    private static ModelFormatException NotZip(string path, ReadOnlySpan<byte> start)
    {
        // A legacy file is a bare pickle stream (PROTO first) or, older still, a tar archive.
        var legacy = start[0] == 0x80 || (start.Length >= 262 && start.Slice(257, 5).SequenceEqual("ustar"u8));
        return legacy
            ? new ModelFormatException(path,
                "is a legacy PyTorch file (torch.save before 1.6, or with _use_new_zipfile_serialization=False); only the zip format is read. " +
                "Re-save it once with a current PyTorch: `import torch; torch.save(torch.load(p, weights_only=True), p)`, " +
                "or convert it to safetensors: `from safetensors.torch import save_file; save_file(torch.load(p, weights_only=True), 'model.safetensors')`")
            : new ModelFormatException(path, "is not a PyTorch checkpoint: it does not begin with a zip local header", offset: 0);
    }

    private static string FindPrefix(string path, IReadOnlyDictionary<string, ZipEntry> records)
    {
        var pickles = records.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length).Order(StringComparer.Ordinal).ToList();
        return pickles.Count switch
        {
            1 => pickles[0][..^"data.pkl".Length],
            0 => throw new ModelFormatException(path, "has no {folder}/data.pkl record: a zip archive, but not a PyTorch checkpoint"),
            _ => throw new ModelFormatException(path, $"has {pickles.Count} data.pkl records ({string.Join(", ", pickles.Take(4))}); a checkpoint has one"),
        };
    }

    private static void CheckByteOrder(MappedFile file, IReadOnlyDictionary<string, ZipEntry> records, string prefix)
    {
        if (records.TryGetValue(prefix + "byteorder", out var record))
        {
            var text = file.Bytes(record.DataOffset, Math.Min(record.Length, 16), record.Name);
            if (!text.SequenceEqual("little"u8))
            {
                throw new ModelFormatException(file.Path, $"{record.Name} says '{Printable(text)}'; only little-endian checkpoints are read", offset: record.DataOffset);
            }
        }
    }

    private static void CheckVersion(MappedFile file, IReadOnlyDictionary<string, ZipEntry> records, string prefix)
    {
        if (records.TryGetValue(prefix + "version", out var record))
        {
            var text = Printable(file.Bytes(record.DataOffset, Math.Min(record.Length, 16), record.Name)).Trim();
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
                || version is < 1 or > MaxFormatVersion)
            {
                throw new ModelFormatException(file.Path, $"{record.Name} is '{text}'; versions 1 to {MaxFormatVersion} are read", offset: record.DataOffset);
            }
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            text.Append(b is >= 0x20 and < 0x7f or (byte)'\n' ? (char)b : '?');
        }

        return text.ToString();
    }
}
