using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Bge.Extensions.VectorData;

/// <summary>
/// Reads a record type's attributes or a <see cref="VectorStoreCollectionDefinition"/> into the abstractions' model
/// and says what this store takes: data of any .NET type (kept as given), float32 vectors
/// (<see cref="VectorTypes"/>) or inputs an embedding generator turns into them, the distance functions of
/// <see cref="VectorScoring"/>, and flat indexes: exact, or quantized (sign bits scanned, the closest rescored).
/// </summary>
internal sealed class BgeModelBuilder() : CollectionModelBuilder(new CollectionModelBuildingOptions
{
    RequiresAtLeastOneVector = false,
    SupportsMultipleVectors = true,
})
{
    public const string VectorTypes = "ReadOnlyMemory<float>, ReadOnlyMemory<float>?, float[], Embedding<float>";

    public static bool IsVectorType(Type type) =>
        type == typeof(ReadOnlyMemory<float>) || type == typeof(ReadOnlyMemory<float>?) || type == typeof(float[]) || type == typeof(Embedding<float>);

    protected override bool IsDataPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = null;
        return true;
    }

    protected override bool IsVectorPropertyTypeValid(Type type, [NotNullWhen(false)] out string? supportedTypes)
    {
        supportedTypes = VectorTypes;
        return IsVectorType(type);
    }

    protected override void ValidateProperty(PropertyModel propertyModel, VectorStoreCollectionDefinition? definition)
    {
        base.ValidateProperty(propertyModel, definition);
        if (propertyModel is VectorPropertyModel vector)
        {
            _ = VectorScoringExtensions.Parse(vector.DistanceFunction, vector.ModelName);
            if (vector.IndexKind is not (null or IndexKind.Flat or IndexKind.QuantizedFlat))
            {
                throw new NotSupportedException($"vector property '{vector.ModelName}' asks for index kind '{vector.IndexKind}'; Bge's vector store scans every row: "
                    + $"{IndexKind.Flat} (exact, the default) or {IndexKind.QuantizedFlat} (sign bits first, the closest rescored exactly)");
            }
        }
    }
}
