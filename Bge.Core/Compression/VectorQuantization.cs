namespace Bge.Core.Compression;

/// <summary>
/// The integer forms of an embedding, as sentence-transformers' <c>quantize_embeddings</c> names and computes them.
/// </summary>
public enum VectorQuantization
{
    /// <summary>One signed byte per dimension: <c>trunc((x − min) / step − 128)</c>, step = (max − min) / 255 per dimension.</summary>
    Int8,

    /// <summary>One unsigned byte per dimension: <c>trunc((x − min) / step)</c>.</summary>
    UInt8,

    /// <summary>Sign bits packed eight per byte, first dimension in the high bit, stored as <c>packed − 128</c> (signed).</summary>
    Binary,

    /// <summary>Sign bits packed eight per byte, first dimension in the high bit (unsigned).</summary>
    UBinary,
}
