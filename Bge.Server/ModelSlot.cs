namespace Bge.Server;

/// <summary>
/// One model the server was started with, as its routes see it: loading (503), failed to load (503 naming why) or
/// loaded, with its pipeline and the <see cref="BatchScheduler{T}"/> in front of it.
/// </summary>
/// <typeparam name="T">The model's pipeline.</typeparam>
/// <param name="kind">What the model is called in messages ("embedding model", "reranker").</param>
internal sealed class ModelSlot<T>(string kind)
    where T : class
{
    private volatile T? _pipeline;
    private volatile IScheduler? _scheduler;
    private volatile string? _error;

    public bool IsLoaded => _pipeline is not null;

    public IScheduler? Scheduler => _scheduler;

    /// <summary>The pipeline, or 503 while the model loads (or after it failed to).</summary>
    public T Pipeline => _pipeline ?? throw new ApiException(503, _error is null ? $"the {kind} is still loading; see /ready" : $"the {kind} failed to load: {_error}") { RetryAfter = 1 };

    /// <summary>Loads and warms the model with <paramref name="load"/>, then serves it; a failure is kept to be told to every request.</summary>
    public void Load(Func<(T Pipeline, IScheduler Scheduler)> load)
    {
        try
        {
            var (pipeline, scheduler) = load();
            _scheduler = scheduler;
            _pipeline = pipeline;
        }
        catch (Exception e)
        {
            _error = e.Message;
            throw;
        }
    }

    /// <summary>Stops the scheduler once the requests in flight have their answers.</summary>
    public ValueTask DisposeAsync() => _scheduler?.DisposeAsync() ?? ValueTask.CompletedTask;
}
