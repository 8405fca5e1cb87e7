namespace Bge.Weights.Hub;

/// <summary>
/// Where the Hugging Face Hub is and where its files are cached, read from the environment as
/// <c>huggingface_hub</c> reads it, so both share one cache: <c>HF_ENDPOINT</c> (default https://huggingface.co),
/// <c>HF_TOKEN</c> (else the token file <c>$HF_HOME/token</c>), <c>HF_HUB_CACHE</c> (else <c>$HF_HOME/hub</c>,
/// <c>HF_HOME</c> defaulting to <c>$XDG_CACHE_HOME/huggingface</c>, then <c>~/.cache/huggingface</c>).
/// </summary>
/// <param name="Endpoint">The Hub's base URL.</param>
/// <param name="Token">The access token for gated or private models, or null.</param>
/// <param name="CacheDirectory">The cache root holding <c>models--{org}--{name}</c> folders.</param>
public sealed record HubSettings(Uri Endpoint, string? Token, string CacheDirectory)
{
    /// <summary>The settings the environment gives.</summary>
    public static HubSettings FromEnvironment()
    {
        static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        var home = Env("HF_HOME")
            ?? Path.Combine(Env("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify), ".cache"), "huggingface");
        var tokenFile = Env("HF_TOKEN_PATH") ?? Path.Combine(home, "token");
        var token = Env("HF_TOKEN") ?? (File.Exists(tokenFile) ? File.ReadAllText(tokenFile).Trim() : null);
        var endpoint = Env("HF_ENDPOINT") ?? "https://huggingface.co";
        if (!Uri.TryCreate(endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new HubException(HubFailure.BadRequest, $"HF_ENDPOINT '{endpoint}' is not an http(s) URL");
        }

        return new HubSettings(uri, string.IsNullOrEmpty(token) ? null : token, Env("HF_HUB_CACHE") ?? Path.Combine(home, "hub"));
    }
}
