using System.Globalization;
using System.Text;

namespace Bge.Server;

/// <summary>
/// The counters and histograms <c>GET /metrics</c> serves in Prometheus' text format, under TEI's metric names
/// (<c>te_request_count</c>, <c>te_request_duration</c>, …) so that dashboards written for TEI read them unchanged.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] Seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] Counts = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _failures = [];
    private readonly Histogram _request = new(Seconds), _tokenization = new(Seconds), _queue = new(Seconds), _inference = new(Seconds);
    private readonly Histogram _batchSize = new(Counts), _batchTokens = new(Counts), _inputLength = new(Counts);
    private long _requests, _successes;

    public void Request()
    {
        lock (_lock)
        {
            _requests++;
        }
    }

    public void Success(TimeSpan total, TimeSpan tokenization, TimeSpan queue, TimeSpan inference, IEnumerable<int> inputLengths)
    {
        lock (_lock)
        {
            _successes++;
            _request.Add(total.TotalSeconds);
            _tokenization.Add(tokenization.TotalSeconds);
            _queue.Add(queue.TotalSeconds);
            _inference.Add(inference.TotalSeconds);
            foreach (var length in inputLengths)
            {
                _inputLength.Add(length);
            }
        }
    }

    public void Failure(string kind)
    {
        lock (_lock)
        {
            _failures[kind] = _failures.GetValueOrDefault(kind) + 1;
        }
    }

    public void Batch(int size, int tokens)
    {
        lock (_lock)
        {
            _batchSize.Add(size);
            _batchTokens.Add(tokens);
        }
    }

    // The queue is read after the pass counters: a pass leaves the queue before it is counted, so one scrape never
    // shows the same inputs both waiting and computed.
    public string Render(Func<int> queued)
    {
        var text = new StringBuilder();
        lock (_lock)
        {
            Counter(text, "te_request_count", "Requests received", _requests);
            Counter(text, "te_request_success", "Requests answered successfully", _successes);
            text.Append("# HELP te_request_failure Requests refused or failed, by error type\n# TYPE te_request_failure counter\n");
            foreach (var (kind, count) in _failures.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"te_request_failure{{err=\"{kind}\"}} {count}\n");
            }

            _request.Render(text, "te_request_duration", "Request duration in seconds");
            _tokenization.Render(text, "te_request_tokenization_duration", "Tokenization duration in seconds");
            _queue.Render(text, "te_request_queue_duration", "Time a request's inputs waited for a forward pass, in seconds");
            _inference.Render(text, "te_request_inference_duration", "Forward-pass time of a request's batches, in seconds");
            _batchSize.Render(text, "te_batch_next_size", "Inputs per forward pass");
            _batchTokens.Render(text, "te_batch_next_tokens", "Tokens per forward pass");
            _inputLength.Render(text, "te_request_input_length", "Tokens per input");
        }

        text.Append(CultureInfo.InvariantCulture, $"# HELP te_queue_size Inputs waiting for a forward pass\n# TYPE te_queue_size gauge\nte_queue_size {queued()}\n");
        return text.ToString();
    }

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _buckets = new long[bounds.Length];
        private long _count;
        private double _sum;

        public void Add(double value)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                if (value <= bounds[i])
                {
                    _buckets[i]++;
                }
            }

            _count++;
            _sum += value;
        }

        public void Render(StringBuilder text, string name, string help)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
            for (var i = 0; i < bounds.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]}\"}} {_buckets[i]}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {_count}\n{name}_sum {_sum}\n{name}_count {_count}\n");
        }
    }
}
