using Bge.Formats;

namespace Bge.Tokenizer.SentencePiece;

/// <summary>sentencepiece's piece types (<c>SentencePiece.Type</c>).</summary>
internal enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>One piece of a sentencepiece model.</summary>
internal sealed record Piece(string Text, float Score, PieceType Type);

/// <summary>
/// The parts of a sentencepiece <c>ModelProto</c> (sentencepiece_model.proto) that tokenization needs: the pieces,
/// the trainer's model type and byte fallback, and the normalizer spec with its compiled charsmap.
/// </summary>
internal sealed record ModelProto(
    IReadOnlyList<Piece> Pieces,
    int ModelType,
    bool ByteFallback,
    string NormalizerName,
    byte[] PrecompiledCharsMap,
    bool AddDummyPrefix,
    bool RemoveExtraWhitespaces)
{
    /// <summary>TrainerSpec.model_type of a Unigram model.</summary>
    public const int Unigram = 1;

    /// <summary>Parses the bytes of a .model file.</summary>
    /// <exception cref="TokenizerFormatException">The bytes are not a ModelProto; the offset says where.</exception>
    public static ModelProto Parse(byte[] bytes, string source)
    {
        try
        {
            return Read(bytes);
        }
        catch (ProtoFormatException e)
        {
            throw new TokenizerFormatException(source, "not a sentencepiece model: " + e.Reason, e.Offset, e);
        }
    }

    private static ModelProto Read(byte[] bytes)
    {
        var pieces = new List<Piece>();
        var modelType = Unigram;
        var byteFallback = false;
        var name = "";
        byte[] charsmap = [];
        var addDummyPrefix = true;
        var removeExtraWhitespaces = true;
        var reader = new ProtoReader(bytes, 0, bytes.Length);
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited):
                    pieces.Add(ReadPiece(reader.ReadMessage()));
                    break;
                case (2, WireType.LengthDelimited):
                    var trainer = reader.ReadMessage();
                    while (trainer.TryReadTag(out var f, out var w))
                    {
                        switch (f, w)
                        {
                            case (3, WireType.Varint): modelType = trainer.ReadInt32(); break;
                            case (35, WireType.Varint): byteFallback = trainer.ReadVarint() != 0; break;
                            default: trainer.Skip(w); break;
                        }
                    }

                    break;
                case (3, WireType.LengthDelimited):
                    var normalizer = reader.ReadMessage();
                    while (normalizer.TryReadTag(out var f, out var w))
                    {
                        switch (f, w)
                        {
                            case (1, WireType.LengthDelimited): name = normalizer.ReadString(); break;
                            case (2, WireType.LengthDelimited):
                                var (start, end) = normalizer.ReadLengthDelimited();
                                charsmap = bytes[start..end];
                                break;
                            case (3, WireType.Varint): addDummyPrefix = normalizer.ReadVarint() != 0; break;
                            case (4, WireType.Varint): removeExtraWhitespaces = normalizer.ReadVarint() != 0; break;
                            default: normalizer.Skip(w); break;
                        }
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (pieces.Count == 0)
        {
            throw ProtoReader.Error("no pieces (is this a sentencepiece model?)", bytes.Length);
        }

        return new ModelProto(pieces, modelType, byteFallback, name, charsmap, addDummyPrefix, removeExtraWhitespaces);
    }

    private static Piece ReadPiece(ProtoReader reader)
    {
        var start = reader.Position;
        string? text = null;
        var score = 0f;
        var type = PieceType.Normal;
        while (reader.TryReadTag(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, WireType.LengthDelimited): text = reader.ReadString(); break;
                case (2, WireType.Fixed32): score = reader.ReadFixed32Float(); break;
                case (3, WireType.Varint): type = (PieceType)reader.ReadInt32(); break;
                default: reader.Skip(wire); break;
            }
        }

        return new Piece(text ?? throw ProtoReader.Error("a piece without its text", start), score, type);
    }
}
