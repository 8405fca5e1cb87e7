using System.Text;
using Bge.Tokenizer.Normalizers;
using Bge.Tokenizer.Pipeline;

namespace Bge.Tokenizer.PreTokenizers;

/// <summary>Hugging Face's BertPreTokenizer: splits on whitespace (dropped) and isolates each punctuation character as a word.</summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public static BertPreTokenizer Instance { get; } = new();

    public ICodePointSink Start(WordBuffer word, IWordSink words) => new Stage(word, words);

    private sealed class Stage(WordBuffer word, IWordSink words) : ICodePointSink
    {
        public void Begin(int segmentStart)
        {
        }

        public void Add(int codePoint, int start, int end)
        {
            var rune = new Rune(codePoint);
            if (UnicodeClasses.IsWhitespace(rune))
            {
                Words.Flush(word, words);
            }
            else if (UnicodeClasses.IsPunctuation(rune))
            {
                Words.Flush(word, words);
                word.Append(codePoint, start, end);
                Words.Flush(word, words);
            }
            else
            {
                word.Append(codePoint, start, end);
            }
        }

        public void End() => Words.Flush(word, words);
    }
}
