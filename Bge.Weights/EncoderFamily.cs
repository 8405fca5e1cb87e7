namespace Bge.Weights;

/// <summary>
/// The encoder families the engine runs. They share every layer; what differs is data in <see cref="EncoderConfig"/>
/// (position offset, token types, the checkpoint prefix) and the tokenizer the model directory holds.
/// </summary>
public enum EncoderFamily
{
    /// <summary>BERT (<c>model_type</c> bert): positions from 0, two token types, <c>bert.</c> prefix.</summary>
    Bert,

    /// <summary>
    /// XLM-RoBERTa and RoBERTa (<c>model_type</c> xlm-roberta, roberta): positions from <c>pad_token_id + 1</c>, one
    /// token type, <c>roberta.</c> prefix.
    /// </summary>
    XlmRoberta,
}
