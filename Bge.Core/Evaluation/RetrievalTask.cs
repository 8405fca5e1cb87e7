using System.Text.Json;

namespace Bge.Core.Evaluation;

/// <summary>One retrieval query and the one corpus document that answers it.</summary>
/// <param name="Query">The query text.</param>
/// <param name="Relevant">The relevant document's text (a member of the corpus).</param>
public sealed record RetrievalQuery(string Query, string Relevant);

/// <summary>
/// A retrieval task with one relevant document per query, such as <c>paraphrase-retrieval.jsonl</c> over the
/// STS-B sentences. A query's own text, when it is also in the corpus, is left out of its ranking.
/// </summary>
/// <param name="Queries">The queries.</param>
/// <param name="Corpus">The documents, each text once.</param>
public sealed record RetrievalTask(IReadOnlyList<RetrievalQuery> Queries, IReadOnlyList<string> Corpus)
{
    /// <summary>Reads queries from JSON lines (<c>{"query": …, "relevant": …}</c>) against a corpus.</summary>
    /// <exception cref="InvalidDataException">A line is not such an object, or its relevant text is not in the corpus (file and line named).</exception>
    public static RetrievalTask Load(string queriesPath, IReadOnlyList<string> corpus)
    {
        ArgumentException.ThrowIfNullOrEmpty(queriesPath);
        ArgumentNullException.ThrowIfNull(corpus);
        var known = new HashSet<string>(corpus, StringComparer.Ordinal);
        var queries = new List<RetrievalQuery>();
        var number = 0;
        foreach (var line in File.ReadLines(queriesPath))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            string? query, relevant;
            try
            {
                using var json = JsonDocument.Parse(line);
                query = json.RootElement.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String ? q.GetString() : null;
                relevant = json.RootElement.TryGetProperty("relevant", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"{queriesPath}, line {number}: not a JSON object ({e.Message})", e);
            }

            if (query is null || relevant is null)
            {
                throw new InvalidDataException($"{queriesPath}, line {number}: expected string fields \"query\" and \"relevant\"");
            }

            if (!known.Contains(relevant))
            {
                throw new InvalidDataException($"{queriesPath}, line {number}: the relevant text is not in the corpus");
            }

            queries.Add(new RetrievalQuery(query, relevant));
        }

        return new RetrievalTask(queries, corpus);
    }
}
