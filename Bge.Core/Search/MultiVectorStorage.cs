namespace Bge.Core.Search;

/// <summary>
/// How an index keeps ColBERT vectors, the bulk of a hybrid index (one vector per token of every document). Each
/// vector is unit-length, so the error a form adds to a late-interaction score is bounded by the form alone.
/// </summary>
public enum MultiVectorStorage
{
    /// <summary>4 bytes per value, as computed: scores exactly as <see cref="MultiVector.MaxSim(MultiVector)"/> gives them.</summary>
    Float32,

    /// <summary>
    /// 2 bytes per value (IEEE half). Each value within a relative 2⁻¹¹ of its own (absolute 2⁻²⁵ below 2⁻¹⁴), so by
    /// Cauchy–Schwarz each dot product with a unit query vector, and so each MaxSim score, moves by at most
    /// 2⁻¹¹ + √d·2⁻²⁵ (under 5·10⁻⁴ at d = 1,024).
    /// </summary>
    Float16,

    /// <summary>
    /// 1 byte per value plus a 4-byte scale per vector (symmetric, scale = max |x| / 127). Each value within half a
    /// step, so a dot product with a unit query vector moves by at most √d · max |x| / 254 (a worst case far above
    /// what real vectors show; the README gives the error measured on SQuAD).
    /// </summary>
    Int8,
}
