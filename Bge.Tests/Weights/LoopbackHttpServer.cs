using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bge.Tests.Weights;

/// <summary>
/// A minimal HTTP/1.1 server on a loopback port, one request per connection, for tests that need a real remote
/// (the Hub, a NuGet feed) with answers and faults they control byte by byte.
/// </summary>
internal abstract class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    protected LoopbackHttpServer()
    {
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Endpoint => new($"http://127.0.0.1:{Port}/");

    /// <summary>Every request seen: method, path, Range and Authorization headers.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Range, string? Authorization)> Requests { get; } = new();

    /// <summary>Writes the whole response for one request.</summary>
    protected abstract Task Respond(NetworkStream stream, string method, string path, Dictionary<string, string> headers);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII, false, 1, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync();
            if (requestLine is null)
            {
                return;
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var line = await reader.ReadLineAsync(); !string.IsNullOrEmpty(line); line = await reader.ReadLineAsync())
            {
                var colon = line.IndexOf(':');
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }

            var parts = requestLine.Split(' ');
            var (method, path) = (parts[0], Uri.UnescapeDataString(parts[1]));
            Requests.Enqueue((method, path, headers.GetValueOrDefault("Range"), headers.GetValueOrDefault("Authorization")));
            try
            {
                await Respond(stream, method, path, headers);
            }
            catch (IOException)
            {
                // The client went away.
            }
        }
    }
}
