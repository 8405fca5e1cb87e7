using Bge.Core;
using Bge.Tests.Cli;
using Bge.Weights;
using Bge.Weights.Hub;
using Bge.Weights.SafeTensors;

namespace Bge.Tests.Weights.Hub;

/// <summary>`bge model pull` against a loopback server in the Hub's URL layout; nothing here leaves the machine.</summary>
public sealed class HubPullTests
{
    private const string Repo = "Snowflake/snowflake-arctic-embed-xs";
    private string _cache = "";
    private FakeHub _hub = null!;

    private static Dictionary<string, byte[]> ProvisionedFiles() => FilesOf(TestPaths.Arctic);

    // Every file under a model directory by its repository path.
    private static Dictionary<string, byte[]> FilesOf(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), File.ReadAllBytes);

    [SetUp]
    public void Start()
    {
        _cache = Path.Combine(Path.GetTempPath(), "bge-hub-" + Guid.NewGuid().ToString("N"));
        _hub = new FakeHub();
        var files = ProvisionedFiles();
        _hub.Add(Repo, files);
        _hub.Add("acme/gated", files, requiredToken: "hf_secret");
        _hub.Add("acme/no-weights", new() { ["config.json"] = files["config.json"], ["vocab.txt"] = files["vocab.txt"] });
        _hub.Add("BAAI/bge-m3", M3Files());
        _hub.Add("acme/sharded", Sharded(files));
    }

    [TearDown]
    public void Stop()
    {
        _hub.Dispose();
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    // The arctic weights split into two shards with an index, as large checkpoints are published.
    private static Dictionary<string, byte[]> Sharded(Dictionary<string, byte[]> files)
    {
        var source = Path.Combine(TestPaths.Arctic, "model.safetensors");
        using var weights = SafeTensorsFile.Open(source);
        var names = weights.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var shards = new Dictionary<string, byte[]>();
        var map = new Dictionary<string, string>();
        for (var part = 0; part < 2; part++)
        {
            var file = $"model-0000{part + 1}-of-00002.safetensors";
            var members = names.Where((_, i) => i % 2 == part).ToList();
            var path = Path.GetTempFileName();
            SafeTensorsWriter.Write(path, members.Select(n => SafeTensorsEntry.FromFloats(n, weights.Tensors[n].Shape, weights.ReadFloat32(n))));
            shards[file] = File.ReadAllBytes(path);
            File.Delete(path);
            members.ForEach(n => map[n] = file);
        }

        var result = files.Where(f => f.Key != "model.safetensors").ToDictionary(f => f.Key, f => f.Value);
        foreach (var (file, bytes) in shards)
        {
            result[file] = bytes;
        }

        result["model.safetensors.index.json"] = System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        return result;
    }

    private HubClient Client(string? token = null, Uri? endpoint = null) =>
        new(new HubSettings(endpoint ?? _hub.Endpoint, token, _cache), TimeSpan.FromSeconds(10));

    private int CdnDownloads => _hub.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal));

    [Test]
    public async Task PullFillsTheHubCacheLayoutAndTheSnapshotEmbedsLikeTheProvisionedModel()
    {
        using var client = Client();
        var snapshot = await client.PullAsync(Repo);
        var folder = Path.Combine(_cache, "models--Snowflake--snowflake-arctic-embed-xs");
        Assert.That(snapshot, Is.EqualTo(Path.Combine(folder, "snapshots", FakeHub.Commit)));
        Assert.That(File.ReadAllText(Path.Combine(folder, "refs", "main")), Is.EqualTo(FakeHub.Commit));
        var weights = new FileInfo(Path.Combine(snapshot, "model.safetensors"));
        var sha = FakeHub.Sha256(File.ReadAllBytes(Path.Combine(TestPaths.Arctic, "model.safetensors")));
        Assert.That(weights.LinkTarget, Is.EqualTo(Path.Combine("..", "..", "blobs", sha)), "a relative link into blobs/, as huggingface_hub makes");
        Assert.That(File.Exists(Path.Combine(folder, "blobs", sha)), Is.True);
        Assert.That(new FileInfo(Path.Combine(snapshot, "1_Pooling", "config.json")).LinkTarget, Does.StartWith(Path.Combine("..", "..", "..", "blobs")));
        Assert.That(Directory.GetFiles(Path.Combine(folder, "blobs")).Where(f => f.EndsWith(".incomplete", StringComparison.Ordinal)), Is.Empty);

        var pulled = Embedder.Load(snapshot);
        Assert.That(pulled.Name, Is.EqualTo(Repo));
        var provisioned = Core.GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs");
        Assert.That(pulled.Encode("I love machine learning and nlp"), Is.EqualTo(provisioned.Encode("I love machine learning and nlp")));
        Assert.That(new HubCache(_cache).FindSnapshot(Repo), Is.EqualTo(snapshot));

        var before = _hub.Requests.Count;
        Assert.That(await client.PullAsync(Repo), Is.EqualTo(snapshot));
        Assert.That(_hub.Requests.Skip(before).Where(r => r.Method == "GET"), Is.Empty, "a second pull downloads nothing");
    }

    [Test]
    public async Task BlobsAnotherToolAlreadyDownloadedAreNotFetchedAgain()
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.Arctic, "model.safetensors"));
        var blobs = Path.Combine(_cache, "models--Snowflake--snowflake-arctic-embed-xs", "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, FakeHub.Sha256(bytes)), bytes);
        using var client = Client();
        var snapshot = await client.PullAsync(Repo);
        Assert.That(CdnDownloads, Is.Zero);
        Assert.That(File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")), Is.EqualTo(bytes));
    }

    [Test]
    public async Task AConnectionDroppedHalfWayResumesWithARangeRequest()
    {
        var size = new FileInfo(Path.Combine(TestPaths.Arctic, "model.safetensors")).Length;
        _hub.DropNextDownloadAfter = size / 2;
        using var client = Client();
        var snapshot = await client.PullAsync(Repo);
        var ranges = _hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Range is not null).Select(r => r.Range).ToList();
        Assert.That(ranges, Has.Count.EqualTo(1));
        var resumedAt = long.Parse(ranges[0]!["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(resumedAt, Is.GreaterThan(0).And.LessThanOrEqualTo(size / 2));
        Assert.That(FakeHub.Sha256(File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors"))), Is.EqualTo(FakeHub.Sha256(File.ReadAllBytes(Path.Combine(TestPaths.Arctic, "model.safetensors")))));
    }

    [Test]
    public void AWrongChecksumIsRefusedAndNothingHalfWrittenRemains()
    {
        _hub.CorruptDownloads = true;
        using var client = Client();
        var e = Assert.ThrowsAsync<HubException>(() => client.PullAsync(Repo));
        Assert.That(e!.Failure, Is.EqualTo(HubFailure.ChecksumMismatch));
        Assert.That(e.Message, Does.Contain("model.safetensors").And.Contain("SHA-256"));
        var folder = Path.Combine(_cache, "models--Snowflake--snowflake-arctic-embed-xs");
        Assert.That(Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(f => f.Contains("safetensors", StringComparison.Ordinal) || f.EndsWith(".incomplete", StringComparison.Ordinal)), Is.Empty);
        Assert.That(new HubCache(_cache).FindSnapshot(Repo), Is.Null, "no ref is written for a failed pull");
    }

    [Test]
    public void MissingModelsRevisionsAndGatedModelsGiveOneClearMessage()
    {
        using var client = Client();
        var missing = Assert.ThrowsAsync<HubException>(() => client.PullAsync("acme/no-such-model"));
        Assert.That((missing!.Failure, missing.Message), Is.EqualTo((HubFailure.NotFound, $"no model acme/no-such-model on {_hub.Endpoint} (or it is private: set HF_TOKEN)")));
        var revision = Assert.ThrowsAsync<HubException>(() => client.PullAsync(Repo, "v9"));
        Assert.That(revision!.Message, Is.EqualTo($"{Repo} has no revision v9"));
        var gated = Assert.ThrowsAsync<HubException>(() => client.PullAsync("acme/gated"));
        Assert.That(gated!.Failure, Is.EqualTo(HubFailure.Unauthorized));
        Assert.That(gated.Message, Does.Contain("gated or private").And.Contain("HF_TOKEN").And.Contain("401"));
        using var wrongToken = Client("hf_wrong");
        Assert.That(Assert.ThrowsAsync<HubException>(() => wrongToken.PullAsync("acme/gated"))!.Message, Does.Contain("refused the token"));
        Assert.That(Assert.ThrowsAsync<HubException>(() => client.PullAsync("not a repo id"))!.Failure, Is.EqualTo(HubFailure.BadRequest));
    }

    [Test]
    public async Task AGatedModelDownloadsWithTheToken()
    {
        using var client = Client("hf_secret");
        var snapshot = await client.PullAsync("acme/gated");
        Assert.That(File.Exists(Path.Combine(snapshot, "model.safetensors")), Is.True);
        Assert.That(_hub.Requests.Where(r => r.Path.StartsWith("/acme/gated/", StringComparison.Ordinal)).All(r => r.Authorization == "Bearer hf_secret"), Is.True);
    }

    // bge-m3's layout (PyTorch weights and heads, a SentencePiece tokenizer, sentence_bert_config.json) with the
    // tiny random-weight model of ../shared/golden/models in place of the real weights.
    private static Dictionary<string, byte[]> M3Files() => FilesOf(Path.Combine(TestPaths.Shared, "golden", "models", "xlmr-m3-tiny-pt"));

    [Test]
    public async Task BgeM3sLayoutIsPulledWithItsPyTorchWeightsHeadsAndSentencePieceModel()
    {
        using var client = Client();
        var snapshot = await client.PullAsync("BAAI/bge-m3");
        foreach (var (file, bytes) in M3Files())
        {
            Assert.That(File.ReadAllBytes(Path.Combine(snapshot, file)), Is.EqualTo(bytes), file);
        }

        Assert.That(ModelDirectory.Open(snapshot).Config.MaxSequenceLength, Is.EqualTo(8192));
    }

    [Test]
    public void AModelWithoutWeightsIsRefusedNamingWhatWasLookedFor()
    {
        using var client = Client();
        var e = Assert.ThrowsAsync<HubException>(() => client.PullAsync("acme/no-weights"));
        Assert.That(e!.Failure, Is.EqualTo(HubFailure.NotFound));
        Assert.That(e.Message, Does.Contain("model.safetensors, pytorch_model.bin"));
    }

    [Test]
    public async Task ShardedWeightsArePulledAndLoad()
    {
        using var client = Client();
        var snapshot = await client.PullAsync("acme/sharded");
        Assert.That(File.Exists(Path.Combine(snapshot, "model-00002-of-00002.safetensors")), Is.True);
        var embedder = Embedder.Load(snapshot);
        Assert.That(embedder.Name, Is.EqualTo("acme/sharded"));
        Assert.That(embedder.Encode("sharded"), Is.EqualTo(Core.GoldenEmbeddingTests.Load("snowflake-arctic-embed-xs").Encode("sharded")));
    }

    [Test]
    public void AnUnreachableHubSaysSo()
    {
        using var client = Client(endpoint: new Uri("http://127.0.0.1:9/"));
        var e = Assert.ThrowsAsync<HubException>(() => client.PullAsync(Repo));
        Assert.That(e!.Failure, Is.EqualTo(HubFailure.Unreachable));
        Assert.That(e.Message, Does.Contain("cannot reach").And.Contain("HF_ENDPOINT"));
    }

    [Test]
    public void KnownBgeModelsGetFlagEmbeddingsInstructionFromTheCacheLayout()
    {
        var snapshot = Path.Combine(_cache, "models--BAAI--bge-small-zh-v1.5", "snapshots", FakeHub.Commit);
        Directory.CreateDirectory(snapshot);
        foreach (var (file, bytes) in ProvisionedFiles().Where(f => f.Key != "config_sentence_transformers.json"))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(snapshot, file))!);
            File.WriteAllBytes(Path.Combine(snapshot, file), bytes);
        }

        var directory = ModelDirectory.Open(snapshot);
        Assert.That(directory.Name, Is.EqualTo("BAAI/bge-small-zh-v1.5"));
        Assert.That(directory.QueryInstruction, Is.EqualTo(KnownModels.ChineseInstruction));
        Assert.That(KnownModels.Find("baai/BGE-BASE-EN-v1.5")!.QueryInstruction, Is.EqualTo("Represent this sentence for searching relevant passages: "));
    }

    [Test]
    public void TheCommandLinePullsThenTakesTheHubIdAsAModel()
    {
        var saved = new[] { "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HF_TOKEN" }.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", _hub.Endpoint.ToString());
            Environment.SetEnvironmentVariable("HF_HOME", _cache);
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", null);
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            var (exit, output, error) = EmbedCommandTests.Run("embed", "--model", Repo, "x");
            Assert.That((exit, error), Is.EqualTo((2, $"bge: {Repo} is not in the Hub cache; download it with: bge model pull {Repo}\n")));
            (exit, output, error) = EmbedCommandTests.Run("model", "pull", Repo);
            Assert.That(exit, Is.Zero, error);
            Assert.That(output, Does.Contain("6 layers, hidden 384, cls pooling").And.Contain(Path.Combine(_cache, "hub", "models--Snowflake--snowflake-arctic-embed-xs")));
            (exit, output, error) = EmbedCommandTests.Run("embed", "--model", Repo, "embedding");
            Assert.That(exit, Is.Zero, error);
            Assert.That(output, Does.Contain($"model: {Repo}"));
            (exit, output, _) = EmbedCommandTests.Run("model", "list", "--known");
            Assert.That(output, Does.Contain("BAAI/bge-large-en-v1.5").And.Contain("为这个句子生成表示以用于检索相关文章："));
            (exit, _, error) = EmbedCommandTests.Run("model", "pull", "acme/gated");
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Does.StartWith("bge: acme/gated is gated or private"));
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}
