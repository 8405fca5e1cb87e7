using System.Globalization;
using System.Text.Json;

namespace Bge.Core.Evaluation;

/// <summary>A corpus document of a BEIR-layout data set.</summary>
/// <param name="Id">Its <c>_id</c>.</param>
/// <param name="Title">Its title ("" when none).</param>
/// <param name="Text">Its text.</param>
public sealed record BeirDocument(string Id, string Title, string Text)
{
    /// <summary>What is embedded: title, space, text, trimmed, as BEIR joins them; the text alone without a title or when titles are off.</summary>
    public string Embedded(bool withTitle) => withTitle && Title.Length > 0 ? (Title + " " + Text).Trim() : Text.Trim();
}

/// <summary>A query of a BEIR-layout data set.</summary>
/// <param name="Id">Its <c>_id</c>.</param>
/// <param name="Text">Its text.</param>
public sealed record BeirQuery(string Id, string Text);

/// <summary>
/// A retrieval data set in the layout BEIR and MTEB use: <c>corpus.jsonl</c> (<c>_id</c>, optional <c>title</c>,
/// <c>text</c>), <c>queries.jsonl</c> (<c>_id</c>, <c>text</c>) and <c>qrels/{split}.tsv</c> (a header line, then
/// <c>query-id</c>, <c>corpus-id</c>, integer <c>score</c>; graded relevance allowed, 0 meaning judged not relevant).
/// </summary>
public sealed class BeirDataset
{
    private BeirDataset(IReadOnlyList<BeirDocument> corpus, IReadOnlyList<BeirQuery> queries, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> judgements)
    {
        Corpus = corpus;
        Queries = queries;
        Judgements = judgements;
    }

    /// <summary>The documents, in file order.</summary>
    public IReadOnlyList<BeirDocument> Corpus { get; }

    /// <summary>The queries, in file order.</summary>
    public IReadOnlyList<BeirQuery> Queries { get; }

    /// <summary>Per query id, the judged documents and their scores (a query without a line has none).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Judgements { get; }

    /// <summary>Reads a BEIR-layout folder.</summary>
    /// <param name="directory">The folder holding corpus.jsonl, queries.jsonl and qrels/.</param>
    /// <param name="split">The qrels file's name without .tsv.</param>
    /// <exception cref="InvalidDataException">A file is missing or malformed: a bad JSON line, a missing field, a duplicate id, a short qrels row, a score that is not an integer, an id the corpus or queries do not hold (file, line and reason named).</exception>
    public static BeirDataset Load(string directory, string split = "test")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(split);
        var corpusPath = Path.Combine(directory, "corpus.jsonl");
        var corpus = ReadJsonLines(corpusPath, (id, json) =>
            new BeirDocument(id, OptionalString(json, "title") ?? "", RequiredString(json, "text")));
        var queriesPath = Path.Combine(directory, "queries.jsonl");
        var queries = ReadJsonLines(queriesPath, (id, json) => new BeirQuery(id, RequiredString(json, "text")));
        var documentIds = corpus.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var queryIds = queries.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
        var qrelsPath = Path.Combine(directory, "qrels", split + ".tsv");
        var judgements = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in ReadLines(qrelsPath))
        {
            number++;
            if (number == 1 || line.Length == 0)
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields.Length < 3)
            {
                throw new InvalidDataException($"{qrelsPath}, line {number}: expected query-id, corpus-id and score separated by tabs, found {fields.Length} column(s)");
            }

            var (query, document) = (fields[0], fields[1]);
            if (!int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var score))
            {
                throw new InvalidDataException($"{qrelsPath}, line {number}: score '{fields[2]}' is not an integer");
            }

            if (!queryIds.Contains(query))
            {
                throw new InvalidDataException($"{qrelsPath}, line {number}: query-id '{query}' is not in {queriesPath}");
            }

            if (!documentIds.Contains(document))
            {
                throw new InvalidDataException($"{qrelsPath}, line {number}: corpus-id '{document}' is not in {corpusPath}");
            }

            if (!judgements.TryGetValue(query, out var judged))
            {
                judgements[query] = judged = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            if (!judged.TryAdd(document, score))
            {
                throw new InvalidDataException($"{qrelsPath}, line {number}: query '{query}' judges '{document}' twice");
            }
        }

        if (number == 0)
        {
            throw new InvalidDataException($"{qrelsPath}: empty (expected a header line and judgements)");
        }

        return new BeirDataset(corpus, queries, judgements.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, int>)p.Value, StringComparer.Ordinal));
    }

    private static IEnumerable<string> ReadLines(string path) =>
        File.Exists(path) ? File.ReadLines(path) : throw new InvalidDataException($"{path}: no such file (a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)");

    private static List<T> ReadJsonLines<T>(string path, Func<string, JsonElement, T> read)
    {
        var items = new List<T>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException("not a JSON object");
                }

                var id = RequiredString(json.RootElement, "_id");
                if (!seen.Add(id))
                {
                    throw new InvalidDataException($"duplicate _id '{id}'");
                }

                items.Add(read(id, json.RootElement));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}, line {number}: not valid JSON ({e.Message})", e);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}, line {number}: {e.Message}", e);
            }
        }

        return items;
    }

    private static string RequiredString(JsonElement json, string name) =>
        OptionalString(json, name) ?? throw new InvalidDataException($"missing string field \"{name}\"");

    private static string? OptionalString(JsonElement json, string name) =>
        !json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new InvalidDataException($"field \"{name}\" is {value.ValueKind}, not a string");
}
