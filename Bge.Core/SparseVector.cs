namespace Bge.Core;

/// <summary>Lexical weights of one text (bge-m3's sparse output): token ids ascending, each with its weight (&gt; 0).</summary>
/// <param name="Ids">Token ids, ascending, each once.</param>
/// <param name="Weights">The weight of each id.</param>
public sealed record SparseVector(int[] Ids, float[] Weights)
{
    /// <summary>Number of ids with a weight.</summary>
    public int Count => Ids.Length;

    /// <summary>The lexical matching score: the sum over ids both hold of the product of their weights.</summary>
    public float Dot(SparseVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var sum = 0f;
        for (int i = 0, j = 0; i < Ids.Length && j < other.Ids.Length;)
        {
            if (Ids[i] == other.Ids[j])
            {
                sum += Weights[i++] * other.Weights[j++];
            }
            else if (Ids[i] < other.Ids[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return sum;
    }
}
