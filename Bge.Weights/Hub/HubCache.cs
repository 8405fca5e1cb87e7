using System.Text.RegularExpressions;

namespace Bge.Weights.Hub;

/// <summary>
/// The Hugging Face Hub cache as <c>huggingface_hub</c> lays it out, so files either tool downloaded serve both:
/// <c>models--{org}--{name}/blobs/{etag}</c> holds each file once, <c>snapshots/{commit}/{path}</c> links to the
/// blobs, and <c>refs/{revision}</c> holds the commit a branch or tag pointed at.
/// </summary>
/// <param name="Root">The cache root (<see cref="HubSettings.CacheDirectory"/>).</param>
public sealed partial record HubCache(string Root)
{
    /// <summary>The folder of a repository, <c>models--{org}--{name}</c>.</summary>
    public string RepoFolder(string repoId) => Path.Combine(Root, "models--" + CheckRepoId(repoId).Replace("/", "--", StringComparison.Ordinal));

    /// <summary>The snapshot folder for a revision (branch, tag or commit) if it is in the cache, else null.</summary>
    public string? FindSnapshot(string repoId, string revision = "main")
    {
        var folder = RepoFolder(repoId);
        CheckRevision(revision);
        var commit = CommitPattern().IsMatch(revision) ? revision : ReadRef(folder, revision);
        if (commit is null)
        {
            return null;
        }

        var snapshot = Path.Combine(folder, "snapshots", commit);
        return File.Exists(Path.Combine(snapshot, "config.json")) ? snapshot : null;
    }

    /// <summary>The Hub id of a snapshot folder inside a Hub cache (<c>…/models--org--name/snapshots/commit</c>), else null.</summary>
    public static string? RepoIdOf(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var snapshot = new DirectoryInfo(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (snapshot.Parent is not { Name: "snapshots" } snapshots || snapshots.Parent is not { } repo || !repo.Name.StartsWith("models--", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = repo.Name["models--".Length..].Split("--");
        return parts.Length == 2 ? $"{parts[0]}/{parts[1]}" : null;
    }

    /// <summary>Checks a Hub model id (<c>org/name</c>, letters, digits, '.', '_', '-').</summary>
    /// <exception cref="HubException">It is not one.</exception>
    public static string CheckRepoId(string repoId)
    {
        if (repoId is null || !RepoIdPattern().IsMatch(repoId) || repoId.Contains("--", StringComparison.Ordinal) || repoId.Contains("..", StringComparison.Ordinal))
        {
            throw new HubException(HubFailure.BadRequest, $"'{repoId}' is not a Hub model id such as BAAI/bge-base-en-v1.5");
        }

        return repoId;
    }

    /// <summary>Checks a revision (a branch, tag or commit; no '..', no leading '/').</summary>
    /// <exception cref="HubException">It is not one.</exception>
    public static string CheckRevision(string revision)
    {
        if (revision is null || !RevisionPattern().IsMatch(revision) || revision.Contains("..", StringComparison.Ordinal))
        {
            throw new HubException(HubFailure.BadRequest, $"'{revision}' is not a revision (a branch, tag or commit)");
        }

        return revision;
    }

    /// <summary>Checks a file path inside a repository (relative, '/'-separated, no '..'): shard names come from the server.</summary>
    /// <exception cref="HubException">It would leave the snapshot folder.</exception>
    public static string CheckFilePath(string file)
    {
        if (file is null || !FilePattern().IsMatch(file) || file.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new HubException(HubFailure.Protocol, $"'{file}' is not a safe file path inside a repository");
        }

        return file;
    }

    internal static bool IsCommit(string text) => CommitPattern().IsMatch(text);

    internal string BlobPath(string repoId, string etag) => Path.Combine(RepoFolder(repoId), "blobs", etag);

    internal string SnapshotFile(string repoId, string commit, string file) =>
        Path.Combine(RepoFolder(repoId), "snapshots", commit, file.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Points <c>snapshots/{commit}/{file}</c> at its blob: a relative symbolic link, as huggingface_hub makes, or a copy where links are not allowed.</summary>
    internal void Link(string repoId, string commit, string file, string etag)
    {
        var pointer = SnapshotFile(repoId, commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        var blob = BlobPath(repoId, etag);
        var relative = Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob);
        var staging = pointer + ".link-" + Environment.ProcessId;
        File.Delete(staging);
        try
        {
            File.CreateSymbolicLink(staging, relative);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blob, staging, overwrite: true);
        }

        File.Move(staging, pointer, overwrite: true);
    }

    internal void WriteRef(string repoId, string revision, string commit)
    {
        var path = Path.Combine(RepoFolder(repoId), "refs", revision.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(commit)));
    }

    private static string? ReadRef(string folder, string revision)
    {
        var path = Path.Combine(folder, "refs", revision.Replace('/', Path.DirectorySeparatorChar));
        var commit = File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        return commit is not null && CommitPattern().IsMatch(commit) ? commit : null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex("^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,255}$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex("^[A-Za-z0-9._-][A-Za-z0-9._/ -]{0,255}$")]
    private static partial Regex FilePattern();
}
