namespace Bge.Core.Kernels;

/// <summary>
/// Runs the iterations of one operation on the calling thread plus dedicated worker threads that spin for a short
/// while after each operation before they sleep. A forward pass is a chain of short operations; waking a sleeping
/// pool thread for each one costs, on a virtual machine, a good part of the operation itself. One operation runs
/// at a time: a caller that finds the team busy (another thread's forward pass) runs its operation on its own
/// thread: concurrent callers get no extra threads from the engine, which would only oversubscribe the cores.
/// </summary>
internal static class WorkerTeam
{
    private const int SpinIterations = 4_000;

    private static readonly Lock Gate = new();
    private static readonly Worker[] Workers = Enumerable.Range(0, Math.Max(0, Environment.ProcessorCount - 1)).Select(i => new Worker(i)).ToArray();
    private static Action<int>? _body;
    private static int _count;
    private static Exception? _failure;

    // Each counter on a cache line of its own: the workers poll the generation while the threads at work bump the
    // iteration counter, and sharing one line would make every bump a cross-core transfer.
    private static PaddedCounter _next;
    private static PaddedCounter _seats;
    private static PaddedCounter _running;
    private static PaddedCounter _generation;

    [ThreadStatic]
    private static bool _isWorker;

    // Below this many multiply-adds per thread an operation runs on fewer threads: handing work to another core and
    // waiting for it costs a few microseconds, as long as half a million multiply-adds take at 256 bits.
    private const long MinMultiplyAddsPerThread = 500_000;

    /// <summary>
    /// How many of <paramref name="parallelism"/> threads an operation of <paramref name="multiplyAdds"/> should use,
    /// so that a small operation (a short text's) never runs slower for having more threads.
    /// </summary>
    public static int ThreadsFor(long multiplyAdds, int parallelism) =>
        (int)Math.Clamp(multiplyAdds / MinMultiplyAddsPerThread, 1, Math.Max(1, parallelism));

    /// <summary>Calls <paramref name="body"/> for 0 ≤ i &lt; <paramref name="count"/> on at most <paramref name="parallelism"/> threads.</summary>
    public static void For(int count, int parallelism, Action<int> body)
    {
        if (count <= 0)
        {
            return;
        }

        var helpers = Math.Min(Math.Min(parallelism, count) - 1, Workers.Length);
        // Inline on the calling thread: when there is no one to help; when a body itself parallelizes (the team is
        // already busy with the outer loop); and when another caller has the team, whose threads are then busy, so
        // more threads would only oversubscribe the cores. Otherwise the caller now holds the team.
        if (helpers <= 0 || Gate.IsHeldByCurrentThread || _isWorker || !Gate.TryEnter())
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        try
        {
            _body = body;
            _count = count;
            _next.Value = 0;
            _failure = null;
            Volatile.Write(ref _seats.Value, helpers);
            Interlocked.Increment(ref _generation.Value);
            foreach (var worker in Workers)
            {
                worker.Wake();
            }

            Work();
            // No seats for late helpers; then wait for those that took one (each counts itself as running first).
            Interlocked.Exchange(ref _seats.Value, 0);
            var spin = new SpinWait();
            while (Volatile.Read(ref _running.Value) > 0)
            {
                spin.SpinOnce(-1);
            }

            _body = null;
            if (_failure is { } failure)
            {
                throw new AggregateException(failure);
            }
        }
        finally
        {
            Gate.Exit();
        }
    }

    private static void Work()
    {
        var body = _body!;
        int i;
        while ((i = Interlocked.Increment(ref _next.Value) - 1) < _count)
        {
            try
            {
                body(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
        }
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PaddedCounter
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public int Value;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private volatile bool _sleeping;

        public Worker(int index)
        {
            new Thread(Loop) { IsBackground = true, Name = $"Bge worker {index + 1}" }.Start();
        }

        public void Wake()
        {
            if (_sleeping)
            {
                _sleeping = false;
                _wake.Release();
            }
        }

        private void Loop()
        {
            _isWorker = true;
            var seen = Volatile.Read(ref _generation.Value);
            while (true)
            {
                var spins = 0;
                while (Volatile.Read(ref _generation.Value) == seen)
                {
                    if (++spins < SpinIterations)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }

                    _sleeping = true;
                    if (Volatile.Read(ref _generation.Value) == seen)
                    {
                        _wake.Wait();
                    }

                    _sleeping = false;
                    spins = 0;
                }

                seen = Volatile.Read(ref _generation.Value);
                // Take a seat only while the operation still wants helpers; count as running before checking, so
                // the caller cannot finish between the check and the work.
                Interlocked.Increment(ref _running.Value);
                if (Interlocked.Decrement(ref _seats.Value) >= 0 && _body is not null)
                {
                    Work();
                }

                Interlocked.Decrement(ref _running.Value);
            }
        }
    }
}
