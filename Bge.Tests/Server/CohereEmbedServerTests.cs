using System.Net;
using System.Text.Json;
using Bge.Core;
using Bge.Core.Compression;
using Bge.Core.Pooling;
using Bge.Server;
using Bge.Tokenizer;

namespace Bge.Tests.Server;

/// <summary>
/// Cohere's <c>POST /v2/embed</c> on the real server over loopback: the float vectors are the library's bits for the
/// same texts (documents, or queries with the model's instruction), and every integer type is
/// <see cref="EmbeddingQuantizer"/>'s output on those vectors, int8/uint8 against the ranges of the server's
/// calibration embeddings (cut as the answer is for an <c>output_dimension</c>).
/// </summary>
[NonParallelizable]
public sealed class CohereEmbedServerTests
{
    private static readonly string[] Texts = ServerTests.Texts;

    private static readonly string[] AllTypes = ["ubinary", "float", "int8", "base64", "uint8", "binary"];

    private Embedder _embedder = null!;
    private EmbeddingMatrix _calibration = null!;
    private EmbeddingServer _server = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _embedder = Embedder.Load(TestPaths.Arctic);
        _calibration = _embedder.EncodeCorpus(ServerTests.StsSentences(64));
        _server = await ServerHarness.Start(() => _embedder, new ServerOptions { Calibration = _calibration });
        _http = new HttpClient { BaseAddress = _server.Address };
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private static async Task<JsonElement> Embed(HttpClient http, object body)
    {
        using var response = await http.PostAsync("/v2/embed", ServerTests.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private Task<JsonElement> Embed(object body) => Embed(_http, body);

    private async Task<(int Status, string Message)> Refused(HttpClient http, object body)
    {
        using var response = await http.PostAsync("/v2/embed", ServerTests.Json(body));
        return await ServerTests.ReadError(response, openAi: true);
    }

    private static float[][] Floats(JsonElement reply) =>
        [.. reply.GetProperty("embeddings").GetProperty("float").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())];

    private static int[][] Integers(JsonElement reply, string type) =>
        [.. reply.GetProperty("embeddings").GetProperty(type).EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetInt32()).ToArray())];

    private static EmbeddingMatrix Matrix(float[][] rows) => new([.. rows.SelectMany(r => r)], rows.Length, rows[0].Length);

    [TestCase("search_document", false)]
    [TestCase("classification", false)]
    [TestCase("clustering", false)]
    [TestCase("search_query", true)]
    public async Task FloatIsTheLibrarysVectorsForTheInputType(string inputType, bool query)
    {
        var reply = await Embed(new { model = "anything", texts = Texts, input_type = inputType });
        var expected = query ? _embedder.EncodeQueries(Texts) : _embedder.EncodeCorpus(Texts);
        var floats = Floats(reply);
        Assert.That(floats, Has.Length.EqualTo(Texts.Length));
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(floats[i], Is.EqualTo(expected.RowArray(i)), Texts[i]);
        }

        Assert.That(reply.GetProperty("embeddings").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "float" }), "only the float type unless asked");
        Assert.That(Guid.TryParse(reply.GetProperty("id").GetString(), out _), Is.True);
        Assert.That(reply.GetProperty("texts").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(Texts));
        Assert.That(reply.GetProperty("meta").GetProperty("api_version").GetProperty("version").GetString(), Is.EqualTo("2"));
        Assert.That(reply.GetProperty("response_type").GetString(), Is.EqualTo("embeddings_by_type"));
    }

    [Test]
    public async Task BilledInputTokensAreTheTokenCounts()
    {
        var documents = await Embed(new { texts = Texts, input_type = "search_document" });
        var queries = await Embed(new { texts = Texts, input_type = "search_query" });
        static int Billed(JsonElement reply) => reply.GetProperty("meta").GetProperty("billed_units").GetProperty("input_tokens").GetInt32();
        Assert.That(_embedder.QueryInstruction, Is.Not.Null.And.Not.Empty);
        Assert.That(Billed(documents), Is.EqualTo(Texts.Sum(t => _embedder.Tokenizer.Encode(t).Length)));
        Assert.That(Billed(queries), Is.EqualTo(Texts.Sum(t => _embedder.Tokenizer.Encode(_embedder.QueryInstruction + t).Length)));
    }

    [Test]
    public async Task EveryTypeIsTheQuantizerOnTheFloatVectorsWithTheServersCalibration()
    {
        var reply = await Embed(new { texts = Texts, input_type = "search_document", embedding_types = AllTypes.Append("float").ToArray() });
        Assert.That(reply.GetProperty("embeddings").EnumerateObject().Select(p => p.Name), Is.EqualTo(AllTypes), "each type once, in the order asked");
        var floats = Floats(reply);
        var library = _embedder.EncodeCorpus(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(floats[i], Is.EqualTo(library.RowArray(i)));
        }

        var ranges = QuantizationRanges.From(_calibration);
        foreach (var (type, form) in new[] { ("int8", VectorQuantization.Int8), ("uint8", VectorQuantization.UInt8), ("binary", VectorQuantization.Binary), ("ubinary", VectorQuantization.UBinary) })
        {
            var expected = EmbeddingQuantizer.Quantize(library, form, ranges);
            var served = Integers(reply, type);
            for (var i = 0; i < Texts.Length; i++)
            {
                Assert.That(served[i], Is.EqualTo(expected.RowValues(i)), $"{type} of text {i}");
            }
        }

        // The server's ranges, not the request's own: four texts alone would put a dimension's extremes at 0 and 255.
        var own = EmbeddingQuantizer.Quantize(library, VectorQuantization.UInt8);
        Assert.That(Integers(reply, "uint8").SelectMany(r => r), Is.Not.EqualTo(Enumerable.Range(0, Texts.Length).SelectMany(own.RowValues)));

        var base64 = reply.GetProperty("embeddings").GetProperty("base64").EnumerateArray().Select(s => Convert.FromBase64String(s.GetString()!)).ToArray();
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(base64[i], Has.Length.EqualTo(floats[i].Length * 4));
            Assert.That(Enumerable.Range(0, floats[i].Length).Select(j => BitConverter.ToSingle(base64[i], j * 4)), Is.EqualTo(floats[i]), "little-endian float32");
        }
    }

    [Test]
    public async Task BinaryTypesPackTheSignsHighBitFirstPaddingTheLastByte()
    {
        // Twelve dimensions: one full byte and four bits padded with zeros.
        var reply = await Embed(new { texts = Texts, input_type = "search_document", embedding_types = new[] { "float", "binary", "ubinary" }, output_dimension = 12 });
        var floats = Floats(reply);
        var binary = Integers(reply, "binary");
        var ubinary = Integers(reply, "ubinary");
        for (var i = 0; i < Texts.Length; i++)
        {
            var signs = string.Concat(floats[i].Select(v => v > 0 ? '1' : '0')) + "0000";
            var bytes = new[] { Convert.ToInt32(signs[..8], 2), Convert.ToInt32(signs[8..], 2) };
            Assert.That(ubinary[i], Is.EqualTo(bytes), signs);
            Assert.That(binary[i], Is.EqualTo(bytes.Select(b => b - 128)), signs);
        }

        // A known pattern: 1011 0010 is 178 (ubinary) and 50 (binary).
        var pattern = new EmbeddingMatrix([0.5f, -0.1f, 0.2f, 0.3f, -0.4f, 0f, 0.6f, -0.7f], 1, 8);
        Assert.That(EmbeddingQuantizer.Quantize(pattern, VectorQuantization.UBinary).RowValues(0), Is.EqualTo(new[] { 178 }));
        Assert.That(EmbeddingQuantizer.Quantize(pattern, VectorQuantization.Binary).RowValues(0), Is.EqualTo(new[] { 50 }));
    }

    [Test]
    public async Task OutputDimensionCutsRenormalizesAndCalibratesAtThatWidth()
    {
        var reply = await Embed(new { texts = Texts, input_type = "search_document", embedding_types = new[] { "float", "int8", "uint8", "ubinary" }, output_dimension = 128 });
        var floats = Floats(reply);
        for (var i = 0; i < Texts.Length; i++)
        {
            var expected = _embedder.Encode(Texts[i], new EncodeOptions { Normalize = false })[..128];
            L2Normalize.InPlace(expected, _embedder.Model.Simd);
            Assert.That(floats[i], Is.EqualTo(expected));
        }

        var ranges = QuantizationRanges.From(Matryoshka.Truncate(_calibration, 128));
        foreach (var (type, form) in new[] { ("int8", VectorQuantization.Int8), ("uint8", VectorQuantization.UInt8) })
        {
            var expected = EmbeddingQuantizer.Quantize(Matrix(floats), form, ranges);
            var served = Integers(reply, type);
            for (var i = 0; i < Texts.Length; i++)
            {
                Assert.That(served[i], Is.EqualTo(expected.RowValues(i)), $"{type} of text {i}");
            }
        }

        Assert.That(Integers(reply, "ubinary")[0], Has.Length.EqualTo(16));
    }

    [Test]
    public async Task InputsWithATextPartAreTheTexts()
    {
        var reply = await Embed(new { inputs = Texts.Select(t => new { content = new[] { new { type = "text", text = t } } }).ToArray(), input_type = "search_query" });
        var floats = Floats(reply);
        var expected = _embedder.EncodeQueries(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.That(floats[i], Is.EqualTo(expected.RowArray(i)));
        }

        Assert.That(reply.GetProperty("texts").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(Texts));
    }

    [Test]
    public async Task TruncateNoneRefusesALongTextNamingItsIndexWhileEndAndStartCutIt()
    {
        var text = string.Join(' ', Enumerable.Repeat("embedding", 700)) + " and a different ending";
        var tokens = _embedder.Tokenizer.Encode(text, int.MaxValue).Length;
        var (status, error) = await Refused(_http, new { texts = new[] { "short", text }, input_type = "search_document", truncate = "NONE" });
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain($"'texts[1]' has {tokens} tokens").And.Contain("512").And.Contain("'truncate': 'END' or 'START'"));
        (status, error) = await Refused(_http, new { texts = new[] { text }, input_type = "search_document", truncate = "NONE" });
        Assert.That(error, Does.Contain($"'texts[0]' has {tokens} tokens"), "a lone text is named by its index too");
        (status, error) = await Refused(_http, new { inputs = new[] { new { content = new[] { new { type = "text", text } } } }, input_type = "search_document", truncate = "NONE" });
        Assert.That(error, Does.Contain($"'inputs[0]' has {tokens} tokens"));

        var end = _embedder.Encode(text);
        var start = _embedder.EncodeBatch(new TokenBatch([_embedder.Tokenizer.Encode(text, _embedder.MaxLength, TruncationSide.Left)])).RowArray(0);
        Assert.That(start, Is.Not.EqualTo(end));
        Assert.That(Floats(await Embed(new { texts = new[] { text }, input_type = "search_document" }))[0], Is.EqualTo(end), "END unless told");
        Assert.That(Floats(await Embed(new { texts = new[] { text }, input_type = "search_document", truncate = "END" }))[0], Is.EqualTo(end));
        Assert.That(Floats(await Embed(new { texts = new[] { text }, input_type = "search_document", truncate = "START" }))[0], Is.EqualTo(start));
    }

    [Test]
    public async Task Int8AndUInt8WithoutCalibrationAreRefusedNamingTheFlagAndTheBinaryTypesServed()
    {
        await using var server = await ServerHarness.Start(() => _embedder, new ServerOptions());
        using var http = new HttpClient { BaseAddress = server.Address };
        foreach (var type in new[] { "int8", "uint8" })
        {
            var (status, error) = await Refused(http, new { texts = Texts, input_type = "search_document", embedding_types = new[] { "float", type } });
            Assert.That(status, Is.EqualTo(400));
            Assert.That(error, Does.Contain($"asks for {type}").And.Contain("start it with --calibration FILE"));
        }

        var reply = await Embed(http, new { texts = Texts, input_type = "search_document", embedding_types = new[] { "binary", "ubinary", "base64", "float" } });
        Assert.That(Integers(reply, "ubinary")[0], Is.EqualTo(EmbeddingQuantizer.Quantize(_embedder.EncodeCorpus(Texts), VectorQuantization.UBinary).RowValues(0)));
    }

    [Test]
    public async Task CalibrationOfAnotherWidthStopsTheModelLoadingNamingBothWidths()
    {
        await using var server = await EmbeddingServer.StartAsync(() => _embedder, new ServerOptions { Port = 0, Calibration = new EmbeddingMatrix(new float[20], 2, 10) });
        var failure = Assert.ThrowsAsync<InvalidOperationException>(async () => await server.Loaded);
        Assert.That(failure!.Message, Does.Contain("have 10 dimensions").And.Contain("gives 384"));
        using var http = new HttpClient { BaseAddress = server.Address };
        var (status, error) = await Refused(http, new { texts = Texts, input_type = "search_document" });
        Assert.That(status, Is.EqualTo(503));
        Assert.That(error, Does.Contain("10 dimensions"));
    }

    [Test]
    public async Task TheServersLimitsApply()
    {
        var (status, error) = await Refused(_http, new { texts = Enumerable.Repeat("a", 33).ToArray(), input_type = "search_document" });
        Assert.That(status, Is.EqualTo(422));
        Assert.That(error, Does.Contain("33").And.Contain("32"));
    }

    [TestCase("{\"texts\": [\"a\"]}", 400, "'input_type' is required: 'search_document', 'search_query'")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"poem\"}", 422, "'input_type' is 'poem'; use 'search_document', 'search_query' (the model's query instruction), 'classification' or 'clustering'")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"image\"}", 422, "text only")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"embedding_types\": [\"float\", \"int4\"]}", 422, "'embedding_types' holds 'int4'; use 'float', 'int8', 'uint8', 'binary', 'ubinary' or 'base64'")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"embedding_types\": \"float\"}", 400, "'embedding_types' must be an array of strings")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"embedding_types\": []}", 422, "'embedding_types' is empty")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"output_dimension\": 0}", 422, "'output_dimension' is 0; this model gives 1 to 384")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"output_dimension\": 385}", 422, "'output_dimension' is 385; this model gives 1 to 384")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"output_dimension\": 1.5}", 400, "'output_dimension' must be an integer")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"truncate\": \"MIDDLE\"}", 422, "'truncate' is 'MIDDLE'; use 'NONE', 'START' or 'END'")]
    [TestCase("{\"texts\": [\"a\"], \"input_type\": \"search_query\", \"max_tokens\": 10}", 422, "'max_tokens' is not supported")]
    [TestCase("{\"input_type\": \"search_query\"}", 400, "'texts' (or 'inputs') is required")]
    [TestCase("{\"texts\": [\"a\"], \"inputs\": [], \"input_type\": \"search_query\"}", 400, "not both")]
    [TestCase("{\"texts\": \"a\", \"input_type\": \"search_query\"}", 400, "'texts' must be an array of strings")]
    [TestCase("{\"texts\": [], \"input_type\": \"search_query\"}", 422, "'texts' is empty")]
    [TestCase("{\"texts\": [\"\"], \"input_type\": \"search_query\"}", 422, "'texts[0]' is an empty string")]
    [TestCase("{\"images\": [\"data:image/png;base64,AA==\"], \"input_type\": \"image\"}", 422, "'images' is not supported")]
    [TestCase("{\"inputs\": [{\"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:,\"}}]}], \"input_type\": \"search_query\"}", 422, "'inputs[0].content[0].type' is 'image_url'; this server embeds text only")]
    [TestCase("{\"inputs\": [{\"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]}], \"input_type\": \"search_query\"}", 422, "'inputs[0].content' holds 2 parts")]
    [TestCase("{\"inputs\": [\"a\"], \"input_type\": \"search_query\"}", 400, "'inputs[0]' must be an object")]
    public Task BadRequestsAreRefusedNamingTheFieldAndTheAllowedValues(string body, int status, string message) => ServerTests.AssertRefused(_http, "/v2/embed", body, status, message);
}
