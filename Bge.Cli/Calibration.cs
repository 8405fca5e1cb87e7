using System.Globalization;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Compression;

namespace Bge.Cli;

/// <summary>Calibration embeddings for int8/uint8 quantization: a file of JSON arrays of numbers, one embedding per line.</summary>
internal static class Calibration
{
    /// <summary>The per-dimension ranges of the file's embeddings, each of which must have <paramref name="dimension"/> values.</summary>
    /// <exception cref="InvalidDataException">A line is not an array of numbers, or the file holds none.</exception>
    /// <exception cref="ArgumentException">An embedding has another dimension.</exception>
    public static QuantizationRanges Read(string path, int dimension) => QuantizationRanges.From(ReadEmbeddings(path, dimension));

    /// <summary>
    /// The file's embeddings, each of which must have <paramref name="dimension"/> values, or when that is null as many
    /// as the first (<c>bge serve</c> reads them before its model is loaded, which checks their width).
    /// </summary>
    /// <exception cref="InvalidDataException">A line is not an array of numbers, or the file holds none.</exception>
    /// <exception cref="ArgumentException">An embedding has another dimension.</exception>
    public static EmbeddingMatrix ReadEmbeddings(string path, int? dimension = null)
    {
        var given = dimension is not null;
        var values = new List<float>();
        var rows = 0;
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            float[]? row;
            try
            {
                row = JsonSerializer.Deserialize(line, CliJsonContext.Default.SingleArray);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number.ToString(CultureInfo.InvariantCulture)}: not a JSON array of numbers ({e.Message})", e);
            }

            if (row is null || row.Any(v => !float.IsFinite(v)))
            {
                throw new InvalidDataException($"{path}:{number.ToString(CultureInfo.InvariantCulture)}: not an array of finite numbers");
            }

            if (dimension is null)
            {
                dimension = row.Length;
            }
            else if (row.Length != dimension)
            {
                var expected = given ? $"these embeddings have {dimension} (make the calibration file with the same model and --dimensions)" : $"the first has {dimension}";
                throw new ArgumentException($"{path}:{number.ToString(CultureInfo.InvariantCulture)}: a calibration embedding of {row.Length} dimensions; {expected}");
            }

            values.AddRange(row);
            rows++;
        }

        return rows > 0 ? new EmbeddingMatrix([.. values], rows, dimension!.Value) : throw new InvalidDataException($"{path}: no calibration embeddings");
    }
}
