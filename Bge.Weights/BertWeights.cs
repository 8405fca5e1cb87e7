using Bge.Weights.SafeTensors;

namespace Bge.Weights;

/// <summary>
/// The tensors of a BertModel checkpoint, addressed by their Hugging Face names, checked against the config
/// when opened: every tensor the config implies is present, floating point and of the implied shape.
/// Backed by one or more memory-mapped safetensors files (sharded checkpoints).
/// </summary>
public sealed class BertWeights : IDisposable
{
    private readonly IReadOnlyList<SafeTensorsFile> _files;
    private readonly Dictionary<string, (SafeTensorsFile File, string Name)> _tensors;

    private BertWeights(BertConfig config, IReadOnlyList<SafeTensorsFile> files, Dictionary<string, (SafeTensorsFile, string)> tensors)
    {
        Config = config;
        _files = files;
        _tensors = tensors;
    }

    /// <summary>The config the weights were checked against.</summary>
    public BertConfig Config { get; }

    /// <summary>The canonical names of the tensors held.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>Opens safetensors files and checks they hold a BertModel of <paramref name="config"/>.</summary>
    /// <param name="config">The model's config.</param>
    /// <param name="paths">The safetensors files (one, or every shard).</param>
    /// <exception cref="ModelFormatException">A file is malformed, or a tensor is missing, duplicated, not floating point or of the wrong shape.</exception>
    public static BertWeights Open(BertConfig config, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<SafeTensorsFile>();
        try
        {
            var tensors = new Dictionary<string, (SafeTensorsFile, string)>(StringComparer.Ordinal);
            foreach (var path in paths)
            {
                var file = SafeTensorsFile.Open(path);
                files.Add(file);
                foreach (var name in file.Tensors.Keys)
                {
                    if (BertTensorNames.Canonical(name) is not { } canonical)
                    {
                        continue;
                    }

                    if (!tensors.TryAdd(canonical, (file, name)))
                    {
                        throw new ModelFormatException(path, $"is also stored as '{tensors[canonical].Item2}' in {tensors[canonical].Item1.FilePath}", name);
                    }
                }
            }

            var weights = new BertWeights(config, files, tensors);
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

    /// <summary>Copies a tensor's values as F32 into <paramref name="destination"/> (its length must be the element count).</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name.</exception>
    public void CopyTo(string name, Span<float> destination)
    {
        var (file, stored) = Find(name);
        file.CopyToFloat32(stored, destination);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private (SafeTensorsFile File, string Name) Find(string name) =>
        _tensors.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"no tensor named '{name}'");

    private void Check()
    {
        var expected = BertTensorNames.Expected(Config);
        var known = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, (file, stored)) in _tensors)
        {
            if (!known.Contains(name))
            {
                throw new ModelFormatException(file.FilePath, $"is not part of a BertModel with {Config.NumHiddenLayers} layers; config.json and the weights disagree", stored);
            }
        }

        foreach (var (name, shape) in expected)
        {
            if (!_tensors.TryGetValue(name, out var entry))
            {
                var where = string.Join(", ", _files.Select(f => f.FilePath));
                throw new ModelFormatException(where, $"is missing; a BertModel with {Config.NumHiddenLayers} layers and hidden size {Config.HiddenSize} needs it", name);
            }

            var info = entry.File.Tensors[entry.Name];
            if (!info.DType.IsFloatingPoint())
            {
                throw new ModelFormatException(entry.File.FilePath, $"is {info.DType}; weights must be F32, F16, BF16 or F64", entry.Name);
            }

            if (!info.Shape.SequenceEqual(shape))
            {
                throw new ModelFormatException(entry.File.FilePath, $"has shape {info.ShapeText} but config.json implies [{string.Join(", ", shape)}]", entry.Name);
            }
        }
    }
}
