using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Bge.Extensions.VectorData;

/// <summary>
/// How a collection model's properties map onto <see cref="CollectionRows"/>: value columns (the key, then the data
/// properties by name) and vector columns (by name), and the copies between a record and its stored row. A record is
/// copied in on upsert and a new one made on every read, so later changes to either side do not reach the other;
/// data values themselves are kept as given (a list stays the same list).
/// </summary>
internal sealed class RecordLayout
{
    private readonly Dictionary<string, int> _columns = [];

    public RecordLayout(CollectionModel model)
    {
        Model = model;
        ValueProperties = [model.KeyProperty, .. model.DataProperties.OrderBy(p => p.ModelName, StringComparer.Ordinal)];
        VectorProperties = [.. model.VectorProperties.OrderBy(p => p.ModelName, StringComparer.Ordinal)];
        Scorings = [.. VectorProperties.Select(p => VectorScoringExtensions.Parse(p.DistanceFunction, p.ModelName))];
        Quantized = [.. VectorProperties.Select(p => p.IndexKind == IndexKind.QuantizedFlat)];
        for (var i = 0; i < ValueProperties.Length; i++)
        {
            _columns[ValueProperties[i].ModelName] = i;
        }

        for (var i = 0; i < VectorProperties.Length; i++)
        {
            _columns[VectorProperties[i].ModelName] = i;
        }

        // A vector's stored form is float32 rows whatever the property's type, so a string property embedded by a
        // generator and a float property of the same dimension and scoring share a schema.
        Schema = string.Join("; ", ValueProperties.Select(p => $"{p.ModelName}: {(p is KeyPropertyModel ? "key" : "data")} {p.Type}")
            .Concat(VectorProperties.Select((p, i) => $"{p.ModelName}: vector {p.Dimensions} {Scorings[i]}{(Quantized[i] ? " QuantizedFlat" : "")}")));
    }

    public CollectionModel Model { get; }

    public PropertyModel[] ValueProperties { get; }

    public VectorPropertyModel[] VectorProperties { get; }

    public VectorScoring[] Scorings { get; }

    /// <summary>Per vector column, whether it is searched through its sign bits first (<see cref="IndexKind.QuantizedFlat"/>).</summary>
    public bool[] Quantized { get; }

    public string Schema { get; }

    /// <summary>The value or vector column of a property.</summary>
    public int Column(PropertyModel property) => _columns[property.ModelName];

    /// <summary>The key and data values of <paramref name="record"/>, in column order.</summary>
    public object?[] Values(object record) => [.. ValueProperties.Select(p => p.GetValueAsObject(record))];

    /// <summary>The float32 copy of a vector property held natively (not generated), or null for a null vector.</summary>
    /// <exception cref="ArgumentException">The vector's dimension is not the property's.</exception>
    public static float[]? NativeVector(VectorPropertyModel property, object record, object key)
    {
        var value = property.GetValueAsObject(record);
        if (value is null)
        {
            return null;
        }

        ReadOnlyMemory<float> vector = value switch
        {
            ReadOnlyMemory<float> memory => memory,
            float[] array => array,
            Embedding<float> embedding => embedding.Vector,
            _ => throw new ArgumentException($"record '{key}': vector property '{property.ModelName}' holds a {value.GetType().Name}, not one of {BgeModelBuilder.VectorTypes}"),
        };
        return Checked(vector.ToArray(), property, $"record '{key}'");
    }

    /// <summary>Returns <paramref name="vector"/> if it has the property's dimension.</summary>
    /// <exception cref="ArgumentException">It does not; the message names <paramref name="what"/>, the property and both dimensions.</exception>
    public static float[] Checked(float[] vector, VectorPropertyModel property, string what) =>
        vector.Length == property.Dimensions ? vector
            : throw new ArgumentException($"{what}: vector property '{property.ModelName}' takes {property.Dimensions}-dimensional vectors, not {vector.Length}-dimensional ones");

    /// <summary>A new record from the row in <paramref name="slot"/>, with its natively held vectors when <paramref name="includeVectors"/>.</summary>
    public TRecord Read<TRecord>(CollectionRows rows, int slot, bool includeVectors)
    {
        var record = Model.CreateRecord<TRecord>()!;
        var values = rows.Values(slot);
        for (var i = 0; i < ValueProperties.Length; i++)
        {
            ValueProperties[i].SetValueAsObject(record, values[i]);
        }

        for (var c = 0; includeVectors && c < VectorProperties.Length; c++)
        {
            var property = VectorProperties[c];
            var column = rows.Vectors(c);
            if (column.Has(slot) && BgeModelBuilder.IsVectorType(property.Type))
            {
                var row = column.Row(slot).ToArray();
                property.SetValueAsObject(record, property.Type == typeof(float[]) ? row
                    : property.Type == typeof(Embedding<float>) ? new Embedding<float>(row)
                    : new ReadOnlyMemory<float>(row));
            }
        }

        return record;
    }
}
