using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Bge.Weights.Hub;

/// <summary>Bytes of one file downloaded so far.</summary>
/// <param name="File">The file's path in the repository.</param>
/// <param name="Bytes">Bytes on disk so far (a resumed download starts where it stopped).</param>
/// <param name="Total">The file's size, when the server gave it.</param>
public sealed record HubProgress(string File, long Bytes, long? Total);

/// <summary>
/// Downloads an encoder model (BERT or XLM-RoBERTa) from the Hugging Face Hub into the Hub cache (<see cref="HubCache"/>) through
/// its <c>resolve</c> URLs: config, weights (safetensors, else a PyTorch checkpoint; single or sharded), tokenizer and sentence-transformers
/// files. Each file streams to <c>blobs/{etag}.incomplete</c>, resumes with a Range request after a dropped
/// connection, is checked against the SHA-256 the Hub announces for large (LFS) files, and only then is moved to
/// its blob and linked into the snapshot, so nothing half-written is ever used. Files already in the cache, from
/// any tool, are not downloaded again.
/// </summary>
public sealed class HubClient : IDisposable
{
    private const int Attempts = 5;

    private static readonly string[] OptionalFiles =
    [
        "tokenizer.json", "sentencepiece.bpe.model", "tokenizer_config.json", "special_tokens_map.json", "modules.json",
        "1_Pooling/config.json", "config_sentence_transformers.json", "sentence_bert_config.json", "README.md",

        // bge-m3's sparse and multi-vector heads: small PyTorch files beside the encoder.
        "sparse_linear.pt", "colbert_linear.pt",
    ];

    private static readonly string[] TokenizerFiles = ["vocab.txt", "tokenizer.json", "sentencepiece.bpe.model"];

    private readonly HubSettings _settings;
    private readonly HttpClient _head;
    private readonly HttpClient _get;

    /// <summary>A client for <paramref name="settings"/>; <paramref name="timeout"/> bounds each request's wait for data.</summary>
    public HubClient(HubSettings settings, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        Cache = new HubCache(settings.CacheDirectory);
        // Metadata requests see the redirect itself (the Hub puts the file's hash and size on it); downloads follow it.
        _head = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        _get = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 5 }) { Timeout = Timeout.InfiniteTimeSpan };
        ReadTimeout = timeout ?? TimeSpan.FromSeconds(60);
        foreach (var client in new[] { _head, _get })
        {
            client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("bge", "1.0"));
        }
    }

    /// <summary>The cache files go to.</summary>
    public HubCache Cache { get; }

    private TimeSpan ReadTimeout { get; }

    /// <summary>Downloads what <paramref name="repoId"/> needs at <paramref name="revision"/>, or finds it in the cache.</summary>
    /// <returns>The snapshot folder, a Hub-layout model directory.</returns>
    /// <exception cref="HubException">The model, a file or the Hub cannot be had; the message says which and why.</exception>
    public async Task<string> PullAsync(string repoId, string revision = "main", IProgress<HubProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        HubCache.CheckRepoId(repoId);
        HubCache.CheckRevision(revision);
        var config = await HeadAsync(repoId, revision, "config.json", optional: false, cancellationToken);
        var commit = config!.Commit ?? (HubCache.IsCommit(revision) ? revision
            : throw new HubException(HubFailure.Protocol, $"{_settings.Endpoint} did not say which commit {revision} of {repoId} is (no X-Repo-Commit header)"));
        // Every further file comes from that commit, so a push during the download cannot mix two versions.
        await FetchAsync(repoId, commit, "config.json", config, progress, cancellationToken);
        foreach (var (file, head) in await WeightFilesAsync(repoId, commit, progress, cancellationToken))
        {
            await FetchAsync(repoId, commit, file, head, progress, cancellationToken);
        }

        var any = await FetchOptionalAsync(repoId, commit, "vocab.txt", progress, cancellationToken);
        foreach (var file in OptionalFiles)
        {
            any |= await FetchOptionalAsync(repoId, commit, file, progress, cancellationToken) && TokenizerFiles.Contains(file);
        }

        if (!any)
        {
            throw new HubException(HubFailure.Unsupported, $"{repoId} has none of {string.Join(", ", TokenizerFiles)}: no tokenizer to tokenize with");
        }

        if (revision != commit)
        {
            Cache.WriteRef(repoId, revision, commit);
        }

        return Path.GetDirectoryName(Cache.SnapshotFile(repoId, commit, "config.json"))!;
    }

    /// <summary>Releases the HTTP connections.</summary>
    public void Dispose()
    {
        _head.Dispose();
        _get.Dispose();
    }

    // The weight files, with what their HEAD request already said where one was made.
    private async Task<IReadOnlyList<(string File, Head? Head)>> WeightFilesAsync(string repoId, string commit, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        if (await HeadAsync(repoId, commit, "model.safetensors", optional: true, cancellationToken) is { } single)
        {
            return [("model.safetensors", single)];
        }

        if (await ShardsAsync(repoId, commit, "model.safetensors.index.json", progress, cancellationToken) is { } shards)
        {
            return shards;
        }

        // PyTorch checkpoints (bge-m3 ships one): read by a pickle reader that builds tensors and calls nothing.
        if (await HeadAsync(repoId, commit, "pytorch_model.bin", optional: true, cancellationToken) is { } pickle)
        {
            return [("pytorch_model.bin", pickle)];
        }

        return await ShardsAsync(repoId, commit, "pytorch_model.bin.index.json", progress, cancellationToken)
            ?? throw new HubException(HubFailure.NotFound, $"{repoId} has no model.safetensors, pytorch_model.bin or index of either at {commit}");
    }

    // The shards an index's weight_map names, or null when the repository has no such index.
    private async Task<IReadOnlyList<(string File, Head? Head)>?> ShardsAsync(string repoId, string commit, string index, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        if (!await FetchOptionalAsync(repoId, commit, index, progress, cancellationToken))
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(Cache.SnapshotFile(repoId, commit, index), cancellationToken));
            var shards = json.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct(StringComparer.Ordinal).ToList();
            return shards.Count > 0 ? shards.Select(s => (HubCache.CheckFilePath(s), (Head?)null)).ToList()
                : throw new HubException(HubFailure.Protocol, $"{repoId}'s {index} lists no shards");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException(HubFailure.Protocol, $"{repoId}'s {index} is not a weight index ({e.Message})", e);
        }
    }

    private async Task<bool> FetchOptionalAsync(string repoId, string commit, string file, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        if (File.Exists(Cache.SnapshotFile(repoId, commit, file)))
        {
            return true;
        }

        var head = await HeadAsync(repoId, commit, file, optional: true, cancellationToken);
        if (head is null)
        {
            return false;
        }

        await FetchAsync(repoId, commit, file, head, progress, cancellationToken);
        return true;
    }

    private sealed record Head(Uri Download, string Etag, long? Size, string? Commit);

    // What the resolve URL says of a file: where to get it, its etag (the SHA-256 for LFS files), its size.
    private async Task<Head?> HeadAsync(string repoId, string revision, string file, bool optional, CancellationToken cancellationToken)
    {
        var url = new Uri(_settings.Endpoint, $"{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");
        for (var hop = 0; hop < 5; hop++)
        {
            using var request = Request(HttpMethod.Head, url);
            using var response = await SendAsync(_head, request, HttpCompletionOption.ResponseHeadersRead, repoId, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location && !location.IsAbsoluteUri)
            {
                url = new Uri(url, location); // a renamed repository: follow on the same host
                continue;
            }

            if (response.StatusCode == HttpStatusCode.NotFound && optional && Header(response, "X-Error-Code") is null or "EntryNotFound")
            {
                return null;
            }

            var redirected = status is >= 300 and < 400 && response.Headers.Location is not null;
            if (!redirected)
            {
                Check(response, repoId, revision, file);
            }

            var etag = (Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.Tag ?? Header(response, "ETag"))?.Replace("W/", "", StringComparison.Ordinal).Trim('"');
            if (string.IsNullOrEmpty(etag) || etag.IndexOfAny(['/', '\\', '.']) >= 0)
            {
                throw new HubException(HubFailure.Protocol, $"{url} gave no usable ETag for {file}");
            }

            var size = long.TryParse(Header(response, "X-Linked-Size"), out var linked) ? linked : response.Content.Headers.ContentLength;
            var download = redirected ? response.Headers.Location! : url;
            return new Head(download, etag, size, Header(response, "X-Repo-Commit"));
        }

        throw new HubException(HubFailure.Protocol, $"too many redirects resolving {file} of {repoId}");
    }

    private async Task FetchAsync(string repoId, string commit, string file, Head? head, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        if (File.Exists(Cache.SnapshotFile(repoId, commit, file)))
        {
            return;
        }

        head ??= await HeadAsync(repoId, commit, file, optional: false, cancellationToken);
        var blob = Cache.BlobPath(repoId, head!.Etag);
        if (!File.Exists(blob))
        {
            await DownloadAsync(repoId, file, head, blob, progress, cancellationToken);
        }

        Cache.Link(repoId, commit, file, head.Etag);
    }

    private async Task DownloadAsync(string repoId, string file, Head head, string blob, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var incomplete = blob + ".incomplete";
        if (head.Size is { } size)
        {
            var free = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(blob))!).AvailableFreeSpace;
            var have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (free < size - have)
            {
                throw new HubException(HubFailure.DiskFull, $"{file} of {repoId} needs {size - have:N0} more bytes; {Path.GetDirectoryName(blob)} has {free:N0} free");
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await DownloadOnceAsync(repoId, file, head, incomplete, progress, cancellationToken);
                break;
            }
            catch (Exception e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && IsDroppedConnection(e))
            {
                // Dropped part-way: the next attempt resumes from what is on disk.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
            catch (IOException e) when (IsDiskFull(e))
            {
                throw new HubException(HubFailure.DiskFull, $"the disk is full writing {incomplete} ({e.Message})", e);
            }
            catch (Exception e) when (IsDroppedConnection(e))
            {
                throw new HubException(HubFailure.Unreachable, $"the download of {file} from {repoId} kept breaking off after {Attempts} attempts ({e.Message}); run the command again to resume", e);
            }
        }

        var length = new FileInfo(incomplete).Length;
        if (head.Size is { } expected && length != expected)
        {
            File.Delete(incomplete);
            throw new HubException(HubFailure.ChecksumMismatch, $"{file} of {repoId}: received {length:N0} bytes, the Hub announced {expected:N0}");
        }

        // LFS files are named by their SHA-256: check it before the file can be used.
        if (head.Etag.Length == 64 && head.Etag.All(Uri.IsHexDigit))
        {
            string actual;
            await using (var stream = File.OpenRead(incomplete))
            {
                actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
            }

            if (!string.Equals(actual, head.Etag, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(incomplete);
                throw new HubException(HubFailure.ChecksumMismatch, $"{file} of {repoId}: SHA-256 {actual} but the Hub announced {head.Etag}; the download was discarded");
            }
        }

        File.Move(incomplete, blob, overwrite: true);
    }

    private async Task DownloadOnceAsync(string repoId, string file, Head head, string incomplete, IProgress<HubProgress>? progress, CancellationToken cancellationToken)
    {
        var have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (head.Size is { } size && have > size)
        {
            File.Delete(incomplete);
            have = 0;
        }

        using var request = Request(HttpMethod.Get, head.Download);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        HttpResponseMessage response;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // A server that never answers counts as a dropped connection, so the caller's loop retries, never hangs.
            waiting.CancelAfter(ReadTimeout);
            try
            {
                response = await SendAsync(_get, request, HttpCompletionOption.ResponseHeadersRead, repoId, waiting.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"no answer for {ReadTimeout.TotalSeconds:F0} s");
            }
        }

        using var _ = response;
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && head.Size == have)
        {
            return; // everything was already on disk
        }

        Check(response, repoId, null, file);
        var resumed = response.StatusCode == HttpStatusCode.PartialContent;
        await using var output = new FileStream(incomplete, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        await using var input = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[1 << 16];
        var written = resumed ? have : 0;
        progress?.Report(new HubProgress(file, written, head.Size));
        while (true)
        {
            // A stalled connection counts as dropped after the read timeout, so the loop resumes instead of hanging.
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stall.CancelAfter(ReadTimeout);
            int read;
            try
            {
                read = await input.ReadAsync(buffer, stall.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"no data for {ReadTimeout.TotalSeconds:F0} s");
            }

            if (read == 0)
            {
                break;
            }

            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            written += read;
            progress?.Report(new HubProgress(file, written, head.Size));
        }

        if (head.Size is { } total && written < total)
        {
            throw new IOException($"the connection closed after {written:N0} of {total:N0} bytes");
        }
    }

    private HttpRequestMessage Request(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        // Only to the Hub itself; a redirect elsewhere (the CDN) drops it, as HttpClient does on any redirect.
        if (_settings.Token is { } token && url.Host == _settings.Endpoint.Host)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, HttpCompletionOption completion, string repoId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            throw new HubException(HubFailure.Unreachable, $"cannot reach {_settings.Endpoint} for {repoId} ({e.Message}); check the network connection or HF_ENDPOINT", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(HubFailure.Unreachable, $"{_settings.Endpoint} did not answer for {repoId} in time; check the network connection or HF_ENDPOINT", e);
        }
    }

    private void Check(HttpResponseMessage response, string repoId, string? revision, string file)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }

        throw status switch
        {
            401 or 403 => new HubException(HubFailure.Unauthorized, _settings.Token is null
                ? $"{repoId} is gated or private (HTTP {status}): accept its terms on the Hub, then set HF_TOKEN to an access token"
                : $"{repoId} refused the token in HF_TOKEN (HTTP {status}): it may lack access to this gated or private model"),
            404 => new HubException(HubFailure.NotFound, Header(response, "X-Error-Code") switch
            {
                "RepoNotFound" => $"no model {repoId} on {_settings.Endpoint} (or it is private: set HF_TOKEN)",
                "RevisionNotFound" => $"{repoId} has no revision {revision}",
                _ => $"{repoId} has no file {file}" + (revision is null ? "" : $" at {revision}"),
            }),
            _ => new HubException(HubFailure.Protocol, $"{_settings.Endpoint} answered HTTP {status} for {file} of {repoId}"),
        };
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    private static bool IsDroppedConnection(Exception e) =>
        e is HttpIOException || (e is IOException io && !IsDiskFull(io)) || e is HttpRequestException { StatusCode: null };

    private static bool IsDiskFull(IOException e) =>
        e.HResult is 28 or 0x70 or 0x27 or unchecked((int)0x80070070) or unchecked((int)0x80070027);
}
