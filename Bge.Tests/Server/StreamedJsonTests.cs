using System.Text.Json;
using Bge.Core;
using Bge.Server;
using Microsoft.AspNetCore.Http;

namespace Bge.Tests.Server;

/// <summary>
/// The streamed JSON body under /embed_colbert's answer, over a response stream that records what reaches it: the
/// body goes out in pieces of <see cref="StreamedJson.FlushBytes"/> and at most one vector more, never gathered
/// whole, never written synchronously (Kestrel refuses that), and it is the vectors, exactly.
/// </summary>
public sealed class StreamedJsonTests
{
    [Test]
    public async Task MultiVectorsGoOutInPiecesOfTheFlushSizeAndReadBackExactly()
    {
        var random = new Random(7);
        var inputs = new[] { 1500, 1, 2200 }.Select(count =>
        {
            var data = new float[count * 64];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (float)(random.NextDouble() * 2) - 1;
            }

            return new MultiVector(data, count, 64);
        }).ToList();
        var body = new RecordingStream();
        var context = new DefaultHttpContext();
        context.Response.Body = body;

        await StreamedJson.Write(context, json => Routes.WriteMultiVectors(json, inputs));

        // A piece ends after the vector that took it past the flush size: that vector, the brackets and commas around it.
        var widest = inputs.SelectMany(v => Enumerable.Range(0, v.Count).Select(r => JsonSerializer.Serialize(v.Row(r).ToArray()).Length)).Max();
        var total = body.Written.Length;
        Assert.That(total, Is.GreaterThan(20 * StreamedJson.FlushBytes), "a body worth streaming");
        Assert.That(body.Pieces.Sum(), Is.EqualTo(total), "every byte flushed");
        Assert.That(body.Pieces.SkipLast(1), Is.All.InRange(StreamedJson.FlushBytes, StreamedJson.FlushBytes + widest + 8), "each piece but the last");
        Assert.That(body.Pieces[^1], Is.LessThanOrEqualTo(StreamedJson.FlushBytes + widest + 8));
        Assert.That(context.Response.ContentType, Is.EqualTo("application/json"));
        Assert.That(context.Response.ContentLength, Is.Null);

        var read = JsonSerializer.Deserialize<float[][][]>(body.Written.ToArray())!;
        Assert.That(read.Select(v => v.Length), Is.EqualTo(inputs.Select(v => v.Count)));
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.That(read[i].SelectMany(row => row), Is.EqualTo(inputs[i].Data), $"input {i}, bit for bit");
        }
    }

    // Records each flush's bytes; a synchronous write or flush fails, as on Kestrel.
    private sealed class RecordingStream : Stream
    {
        private long _pending;

        public MemoryStream Written { get; } = new();

        public List<long> Pieces { get; } = [];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            _pending += buffer.Length;
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_pending > 0)
            {
                Pieces.Add(_pending);
                _pending = 0;
            }

            return Task.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("a synchronous write");

        public override void Flush() => throw new InvalidOperationException("a synchronous flush");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
