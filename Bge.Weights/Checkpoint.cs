using Bge.Weights.SafeTensors;

namespace Bge.Weights;

/// <summary>
/// The tensors of an encoder checkpoint, addressed by their Hugging Face names, checked against the config
/// when opened: every tensor the config implies is present, floating point and of the implied shape.
/// Backed by one or more memory-mapped tensor files (<see cref="ITensorFile"/>: safetensors or PyTorch zip
/// checkpoints, one or several shards).
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly IReadOnlyList<ITensorFile> _files;
    private readonly Dictionary<string, (ITensorFile File, string Name)> _tensors;
    private readonly Dictionary<string, (ITensorFile File, string Name)> _heads;

    private Checkpoint(EncoderConfig config, IReadOnlyList<ITensorFile> files, Dictionary<string, (ITensorFile, string)> tensors, Dictionary<string, (ITensorFile, string)> heads, string? quantization)
    {
        Config = config;
        _files = files;
        _tensors = tensors;
        _heads = heads;
        Quantization = quantization;
    }

    /// <summary>The quantization scheme the files name (<see cref="QuantizedWeights"/>), or null for plain weights.</summary>
    public string? Quantization { get; }

    /// <summary>The config the weights were checked against.</summary>
    public EncoderConfig Config { get; }

    /// <summary>The canonical names of the encoder's tensors held.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>
    /// The names of the tensors outside the encoder, the family's task prefix taken off (<c>pooler.dense.weight</c>,
    /// <c>classifier.out_proj.bias</c>, a masked-LM head's): the heads after the encoder read theirs by these names
    /// with <see cref="Read"/> and <see cref="Info"/>; the others are never read.
    /// </summary>
    public IEnumerable<string> HeadNames => _heads.Keys;

    /// <summary>Opens tensor files (safetensors or PyTorch checkpoints, <see cref="TensorFiles.Open"/>) and checks they hold an encoder of <paramref name="config"/>.</summary>
    /// <param name="config">The model's config.</param>
    /// <param name="paths">The weight files (one, or every shard).</param>
    /// <exception cref="ModelFormatException">A file is malformed or names an unknown quantization scheme, or a tensor is missing, duplicated, not floating point (or int8 with its scale, under the int8 scheme) or of the wrong shape.</exception>
    public static Checkpoint Open(EncoderConfig config, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<ITensorFile>();
        try
        {
            var tensors = new Dictionary<string, (ITensorFile, string)>(StringComparer.Ordinal);
            var heads = new Dictionary<string, (ITensorFile, string)>(StringComparer.Ordinal);
            string? quantization = null;
            foreach (var path in paths)
            {
                var file = TensorFiles.Open(path);
                files.Add(file);
                if (file.Metadata.TryGetValue(QuantizedWeights.MetadataKey, out var scheme))
                {
                    if (!QuantizedWeights.Known.Contains(scheme))
                    {
                        throw new ModelFormatException(path, $"names quantization scheme '{scheme}', which this version does not read (it reads {string.Join(", ", QuantizedWeights.Known)})", QuantizedWeights.MetadataKey);
                    }

                    if (quantization is not null && quantization != scheme)
                    {
                        throw new ModelFormatException(path, $"names quantization scheme '{scheme}' but another shard names '{quantization}'", QuantizedWeights.MetadataKey);
                    }

                    quantization = scheme;
                }

                foreach (var name in file.Tensors.Keys)
                {
                    var scale = name.EndsWith(QuantizedWeights.ScaleSuffix, StringComparison.Ordinal);
                    if (EncoderTensorNames.Canonical(scale ? name[..^QuantizedWeights.ScaleSuffix.Length] : name, config.Family) is not { } canonical)
                    {
                        if (EncoderTensorNames.HeadName(name, config.Family) is { } head && !heads.TryAdd(head, (file, name)))
                        {
                            throw new ModelFormatException(path, $"is also stored as '{heads[head].Item2}' in {heads[head].Item1.FilePath}", name);
                        }

                        continue;
                    }

                    canonical = scale ? QuantizedWeights.ScaleName(canonical) : canonical;

                    if (!tensors.TryAdd(canonical, (file, name)))
                    {
                        throw new ModelFormatException(path, $"is also stored as '{tensors[canonical].Item2}' in {tensors[canonical].Item1.FilePath}", name);
                    }
                }
            }

            var weights = new Checkpoint(config, files, tensors, heads, quantization);
            weights.Check();
            return weights;
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>The stored type and shape of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    public TensorInfo Info(string name)
    {
        var (file, stored) = Find(name);
        return file.Tensors[stored];
    }

    /// <summary>A tensor's values as F32 (converted from F16/BF16 where stored so).</summary>
    /// <param name="name">The Hugging Face name, e.g. <c>encoder.layer.0.attention.self.query.weight</c>.</param>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    public float[] Read(string name)
    {
        var (file, stored) = Find(name);
        return file.ReadFloat32(stored);
    }

    /// <summary>Copies a tensor's values as F32 into <paramref name="destination"/> (its length must be the element count); an int8 weight is dequantized (int8 × its row's scale).</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    /// <exception cref="ModelFormatException">An int8 weight or its scales hold values outside the scheme.</exception>
    public void CopyTo(string name, Span<float> destination)
    {
        var (file, stored) = Find(name);
        var info = file.Tensors[stored];
        if (info.DType != TensorDType.I8)
        {
            file.CopyToFloat32(stored, destination);
            return;
        }

        var (rows, columns) = ((int)info.Shape[0], (int)info.Shape[1]);
        var values = new sbyte[rows * columns];
        var scales = new float[rows];
        TryCopyInt8(name, values, scales);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                destination[(r * columns) + c] = values[(r * columns) + c] * scales[r];
            }
        }
    }

    /// <summary>
    /// Copies <paramref name="destination"/>'s length of a floating-point tensor's values as F32, from element
    /// <paramref name="firstElement"/> on (rows of a large table, read a block at a time).
    /// </summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    /// <exception cref="ModelFormatException">The tensor is not floating point.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range runs past the tensor's end.</exception>
    public void CopyTo(string name, long firstElement, Span<float> destination)
    {
        var (file, stored) = Find(name);
        file.CopyToFloat32(stored, firstElement, destination);
    }

    /// <summary>
    /// Copies an int8 weight as stored, and its per-row scales, when it is stored so (a model written under the
    /// <see cref="QuantizedWeights.Int8"/> scheme); returns false for any other tensor.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    /// <exception cref="ArgumentException">The spans' lengths are not the tensor's element count and row count.</exception>
    /// <exception cref="ModelFormatException">A value is −128 or a scale is negative or not finite.</exception>
    public bool TryCopyInt8(string name, Span<sbyte> values, Span<float> scales)
    {
        var (file, stored) = Find(name);
        var info = file.Tensors[stored];
        if (info.DType != TensorDType.I8)
        {
            return false;
        }

        if (values.Length != info.ElementCount || scales.Length != info.Shape[0])
        {
            throw new ArgumentException($"tensor '{name}' is {info.ShapeText}: {info.ElementCount} values and {info.Shape[0]} scales, not {values.Length} and {scales.Length}", nameof(values));
        }

        var bytes = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(file.GetBytes(stored));
        if (bytes.IndexOf(sbyte.MinValue) is var at and >= 0)
        {
            throw new ModelFormatException(file.FilePath, $"holds −128 at element {at} (row {at / info.Shape[1]}); symmetric int8 weights lie in −127…127", stored, info.Begin + at);
        }

        bytes.CopyTo(values);
        var (scaleFile, scaleStored) = Find(QuantizedWeights.ScaleName(name));
        scaleFile.CopyToFloat32(scaleStored, scales);
        for (var r = 0; r < scales.Length; r++)
        {
            if (!float.IsFinite(scales[r]) || scales[r] < 0)
            {
                throw new ModelFormatException(scaleFile.FilePath, $"scale {scales[r]} of row {r} is not a finite non-negative number", scaleStored);
            }
        }

        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    /// <summary>Whether a tensor of that name is held, the encoder's or a head's.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name) || _heads.ContainsKey(name);

    private (ITensorFile File, string Name) Find(string name) =>
        _tensors.TryGetValue(name, out var entry) || _heads.TryGetValue(name, out entry) ? entry : throw new KeyNotFoundException($"no tensor named '{name}'");

    private void Check()
    {
        var expected = EncoderTensorNames.Expected(Config);
        var known = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, (file, stored)) in _tensors)
        {
            if (name.EndsWith(QuantizedWeights.ScaleSuffix, StringComparison.Ordinal) && _tensors.ContainsKey(name[..^QuantizedWeights.ScaleSuffix.Length]))
            {
                continue;
            }

            if (!known.Contains(name))
            {
                throw new ModelFormatException(file.FilePath, $"is not part of an encoder with {Config.NumHiddenLayers} layers; config.json and the weights disagree", stored);
            }
        }

        foreach (var (name, shape) in expected)
        {
            if (!_tensors.TryGetValue(name, out var entry))
            {
                var where = string.Join(", ", _files.Select(f => f.FilePath));
                throw new ModelFormatException(where, $"is missing; an encoder with {Config.NumHiddenLayers} layers and hidden size {Config.HiddenSize} needs it", name);
            }

            var info = entry.File.Tensors[entry.Name];
            if (info.DType == TensorDType.I8 && Quantization == QuantizedWeights.Int8 && QuantizedWeights.IsLinearWeight(name, shape))
            {
                CheckScale(name, entry.File, entry.Name, shape[0]);
            }
            else if (!info.DType.IsFloatingPoint())
            {
                var int8 = info.DType == TensorDType.I8 && QuantizedWeights.IsLinearWeight(name, shape)
                    ? $" (int8 Linear weights need the metadata {QuantizedWeights.MetadataKey} = {QuantizedWeights.Int8})"
                    : string.Empty;
                throw new ModelFormatException(entry.File.FilePath, $"is {info.DType}; weights must be F32, F16, BF16 or F64{int8}", entry.Name);
            }

            if (!info.Shape.SequenceEqual(shape))
            {
                throw new ModelFormatException(entry.File.FilePath, $"has shape {info.ShapeText} but config.json implies [{string.Join(", ", shape)}]", entry.Name);
            }
        }
    }

    private void CheckScale(string name, ITensorFile file, string stored, long rows)
    {
        if (!_tensors.TryGetValue(QuantizedWeights.ScaleName(name), out var scale))
        {
            throw new ModelFormatException(file.FilePath, $"is int8 but has no scale tensor '{QuantizedWeights.ScaleName(stored)}'", stored);
        }

        var info = scale.File.Tensors[scale.Name];
        if (info.DType != TensorDType.F32 || info.Shape.Count != 1 || info.Shape[0] != rows)
        {
            throw new ModelFormatException(scale.File.FilePath, $"is {info.DType} {info.ShapeText}; the scales of '{stored}' must be F32 [{rows}]", scale.Name);
        }
    }
}
