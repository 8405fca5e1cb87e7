using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Bge.Tests.Weights.Hub;

/// <summary>
/// A loopback HTTP server that answers like the Hugging Face Hub: <c>/{repo}/resolve/{revision}/{file}</c> with
/// X-Repo-Commit and ETag headers, large files redirected to a CDN-style <c>/cdn/{sha256}</c> path with
/// X-Linked-Etag and X-Linked-Size, Range requests honoured there, 401 for gated repositories without the token,
/// 404 with X-Error-Code. Faults on demand: a connection dropped half-way, corrupted bytes.
/// </summary>
internal sealed class FakeHub : LoopbackHttpServer
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";

    private readonly Dictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    /// <summary>Close the connection after this many body bytes of the next CDN download (once).</summary>
    public long? DropNextDownloadAfter { get; set; }

    /// <summary>Serve CDN downloads with one byte changed.</summary>
    public bool CorruptDownloads { get; set; }

    public sealed record Repo(Dictionary<string, byte[]> Files, string? RequiredToken);

    public void Add(string repoId, Dictionary<string, byte[]> files, string? requiredToken = null)
    {
        _repos[repoId] = new Repo(files, requiredToken);
        foreach (var content in files.Values)
        {
            _blobs[Sha256(content)] = content;
        }
    }

    /// <summary>Files whose name ends with .safetensors or .bin are stored in LFS (CDN redirect, SHA-256 etag).</summary>
    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal) || file.EndsWith(".bin", StringComparison.Ordinal);

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    protected override async Task Respond(NetworkStream stream, string method, string path, Dictionary<string, string> headers)
    {
        if (path.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            if (!_blobs.TryGetValue(path["/cdn/".Length..], out var blob))
            {
                await Write(stream, 404, [], null, method);
                return;
            }

            var content = CorruptDownloads ? Corrupted(blob) : blob;
            long start = 0;
            if (headers.GetValueOrDefault("Range") is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                start = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
            }

            var body = content[(int)start..];
            var extra = new Dictionary<string, string>();
            if (start > 0)
            {
                extra["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }

            var drop = DropNextDownloadAfter;
            DropNextDownloadAfter = null;
            await Write(stream, start > 0 ? 206 : 200, extra, body, method, declaredLength: body.Length, dropAfter: drop);
            return;
        }

        // /{org}/{name}/resolve/{revision}/{file...}
        var segments = path.TrimStart('/').Split('/');
        if (segments.Length < 5 || segments[2] != "resolve")
        {
            await Write(stream, 404, [], null, method);
            return;
        }

        var repoId = segments[0] + "/" + segments[1];
        var (revision, file) = (segments[3], string.Join('/', segments[4..]));
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            await Write(stream, 404, new() { ["X-Error-Code"] = "RepoNotFound" }, null, method);
            return;
        }

        if (repo.RequiredToken is { } token && headers.GetValueOrDefault("Authorization") != "Bearer " + token)
        {
            await Write(stream, 401, new() { ["X-Error-Code"] = "GatedRepo" }, null, method);
            return;
        }

        if (revision is not ("main" or Commit))
        {
            await Write(stream, 404, new() { ["X-Error-Code"] = "RevisionNotFound" }, null, method);
            return;
        }

        if (!repo.Files.TryGetValue(file, out var data))
        {
            await Write(stream, 404, new() { ["X-Error-Code"] = "EntryNotFound", ["X-Repo-Commit"] = Commit }, null, method);
            return;
        }

        if (IsLfs(file))
        {
            var sha = Sha256(data);
            await Write(stream, 302, new()
            {
                ["Location"] = new Uri(Endpoint, "cdn/" + sha).ToString(),
                ["X-Repo-Commit"] = Commit,
                ["X-Linked-Etag"] = $"\"{sha}\"",
                ["X-Linked-Size"] = data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ETag"] = "\"lfs-pointer-etag\"",
            }, null, method);
            return;
        }

        var gitSha = Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {data.Length}\0"), .. data]));
        await Write(stream, 200, new() { ["X-Repo-Commit"] = Commit, ["ETag"] = $"\"{gitSha}\"" }, data, method);
    }

    private static byte[] Corrupted(byte[] blob)
    {
        var copy = (byte[])blob.Clone();
        copy[copy.Length / 2] ^= 0x55;
        return copy;
    }

    private static async Task Write(NetworkStream stream, int status, Dictionary<string, string> headers, byte[]? body, string method, long? declaredLength = null, long? dropAfter = null)
    {
        var text = new StringBuilder($"HTTP/1.1 {status} {(HttpStatusCode)status}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        text.Append("Content-Length: ").Append(declaredLength ?? body?.Length ?? 0).Append("\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
        if (body is not null && method != "HEAD")
        {
            var length = dropAfter is { } cut ? (int)Math.Min(cut, body.Length) : body.Length;
            await stream.WriteAsync(body.AsMemory(0, length));
            if (dropAfter is not null)
            {
                stream.Socket.LingerState = new LingerOption(true, 0); // reset, as a dropped connection looks
            }
        }

        await stream.FlushAsync();
    }
}
