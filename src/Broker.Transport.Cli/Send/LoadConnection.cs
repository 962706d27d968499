using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using HdrHistogram;

namespace Broker.Transport.Cli.Send;

/// <summary>
/// One connection of the load: a writer sends the messages, and with echo a reader checks every byte that
/// comes back against what was sent and times each message's round trip. At most <c>window</c> messages are
/// in flight, so the latency measures the transport rather than a queue of unbounded length.
/// </summary>
internal sealed class LoadConnection : IAsyncDisposable
{
    /// <summary>Latencies in microseconds, up to a minute (longer ones count as a minute), to 3 significant digits.</summary>
    private const long LatencyCeilingMicroseconds = 60_000_000;

    /// <summary>How many bytes of small messages are written before a flush: a few TLS records' worth.</summary>
    private const int FlushThreshold = 32 * 1024;

    /// <summary>How long the writer waits for room in the window before it gives up on the echo.</summary>
    private static readonly TimeSpan EchoTimeout = TimeSpan.FromSeconds(30);

    private readonly TransportConnection _connection;
    private readonly MessagePattern _pattern;
    private readonly bool _echo;
    private readonly SemaphoreSlim _window;
    private readonly ConcurrentQueue<long> _sentAt = new();
    private long _messagesSent;
    private long _messagesEchoed;
    private string? _error;

    public LoadConnection(int index, TransportConnection connection, MessagePattern pattern, bool echo, int window)
    {
        Index = index;
        _connection = connection;
        _pattern = pattern;
        _echo = echo;
        // No maximum count: a failure releases every waiter at once (see Fail).
        _window = new SemaphoreSlim(window);
    }

    public int Index { get; }

    public TransportConnection Connection => _connection;

    public long MessagesSent => Interlocked.Read(ref _messagesSent);

    public long MessagesEchoed => Interlocked.Read(ref _messagesEchoed);

    /// <summary>Round trips, in microseconds; read it once <see cref="RunAsync"/> has finished.</summary>
    public LongHistogram Latency { get; } = new(LatencyCeilingMicroseconds, 3);

    /// <summary>The first failure, or null.</summary>
    public string? Error => Volatile.Read(ref _error);

    /// <summary>Sends <paramref name="messages"/> messages, or until <paramref name="stop"/>, then half-closes and waits for the server's end.</summary>
    public async Task RunAsync(long? messages, CancellationToken stop)
    {
        var writer = WriteAsync(messages, stop);
        var reader = _echo ? ReadEchoAsync() : ReadSinkAsync();
        await Task.WhenAll(writer, reader).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Error is null && messages is { } planned && MessagesSent != planned)
        {
            Fail($"sent {MessagesSent} of {planned} messages.");
        }

        if (Error is null && _echo && MessagesEchoed != MessagesSent)
        {
            Fail($"the server closed the connection after echoing {MessagesEchoed} of {MessagesSent} messages.");
        }
    }

    public ValueTask DisposeAsync()
    {
        _window.Dispose();
        return _connection.DisposeAsync();
    }

    private async Task WriteAsync(long? messages, CancellationToken stop)
    {
        var output = _connection.Output;
        try
        {
            for (long i = 0; messages is null || i < messages; i++)
            {
                stop.ThrowIfCancellationRequested();
                if (_echo && !await _window.WaitAsync(EchoTimeout, stop).ConfigureAwait(false))
                {
                    Fail($"no echo came back for {EchoTimeout.TotalSeconds:0} s: is the server running with --mode sink? Use the same --mode on both sides.");
                    return;
                }

                _sentAt.Enqueue(Stopwatch.GetTimestamp());
                output.Write(_pattern.Message(i));
                Interlocked.Increment(ref _messagesSent);

                // Small messages go out in batches, as a broker's do: flushed once a batch is full, before
                // waiting for room in the window, and at the end. Never cancelled mid-flush: a message is
                // sent whole or not at all.
                var last = messages is { } count && i == count - 1;
                if (last || !output.CanGetUnflushedBytes || output.UnflushedBytes >= FlushThreshold || (_echo && _window.CurrentCount == 0))
                {
                    var flush = await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        Fail("the server stopped reading.");
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The duration is over (or a signal came): stop between two messages.
        }
#pragma warning disable CA1031 // A failure ends this connection with its reason; the others go on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(ex);
            return;
        }

        // What a stop left unflushed goes too; then half-close: the server's reads end after the last
        // message, and it closes its side when done.
        try
        {
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failure ends this connection with its reason.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(ex);
            return;
        }

        await output.CompleteAsync().ConfigureAwait(false);
    }

    private async Task ReadEchoAsync()
    {
        var input = _connection.Input;
        var size = _pattern.Size;
        long message = 0;
        var offset = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var span = segment.Span;
                    while (!span.IsEmpty)
                    {
                        if (_sentAt.IsEmpty)
                        {
                            Fail($"the server sent bytes that were never sent to it (after message {message}).");
                            return;
                        }

                        var expected = _pattern.Message(message)[offset..];
                        var length = Math.Min(expected.Length, span.Length);
                        var same = span[..length].CommonPrefixLength(expected[..length]);
                        if (same != length)
                        {
                            Fail($"byte {offset + same} of message {message} came back changed (0x{span[same]:X2} instead of 0x{expected[same]:X2}).");
                            return;
                        }

                        offset += length;
                        span = span[length..];
                        if (offset == size)
                        {
                            _sentAt.TryDequeue(out var sentAt);
                            Latency.RecordValue(Math.Min(LatencyCeilingMicroseconds, (long)Stopwatch.GetElapsedTime(sentAt).TotalMicroseconds));
                            message++;
                            offset = 0;
                            Interlocked.Increment(ref _messagesEchoed);
                            _window.Release();
                        }
                    }
                }

                input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    if (offset != 0)
                    {
                        Fail($"the server closed the connection in the middle of message {message} ({offset} of {size} bytes).");
                    }

                    return;
                }
            }
        }
#pragma warning disable CA1031 // A failure ends this connection with its reason; the others go on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(ex);
        }
    }

    private async Task ReadSinkAsync()
    {
        var input = _connection.Input;
        var count = new byte[sizeof(long)];
        var received = 0L;
        try
        {
            // A sink answers only once this side has finished: the count of bytes it received, 8 bytes big-endian.
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (received + buffer.Length > count.Length)
                {
                    Fail($"the server sent {received + buffer.Length} bytes back: is it running with --mode echo? Use the same --mode on both sides.");
                    return;
                }

                buffer.CopyTo(count.AsSpan((int)received));
                received += buffer.Length;
                input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
#pragma warning disable CA1031 // A failure ends this connection with its reason; the others go on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(ex);
            return;
        }

        if (received != count.Length)
        {
            Fail("the server closed without saying how many bytes it received: is it broker-transport serve --mode sink?");
            return;
        }

        // The server answers after this side's half-close, so the writer is done and the count is final.
        var counted = BinaryPrimitives.ReadInt64BigEndian(count);
        var sent = MessagesSent * _pattern.Size;
        if (counted != sent)
        {
            Fail($"the server counted {counted} bytes of the {sent} sent.");
        }
    }

    /// <summary>
    /// Why the backend refused this connection after it was set up (TLS 1.3 lets a frontend finish its handshake
    /// before the backend has checked it: a mode mismatch or a certificate the backend refuses shows at the first
    /// read), or null. The summary names it as the cause.
    /// </summary>
    public string? Refusal { get; private set; }

    private void Fail(Exception error)
    {
        if (error is HandshakeException refused)
        {
            var reason = $"refused ({refused.Reason}): {refused.Message}";
            if (Interlocked.CompareExchange(ref _error, reason, null) is null)
            {
                Refusal = reason;
                Fail(reason, recorded: true);
            }

            return;
        }

        Fail(error.Message);
    }

    private void Fail(string reason, bool recorded = false)
    {
        if (recorded || Interlocked.CompareExchange(ref _error, reason, null) is null)
        {
            // The other direction ends at its next read or flush.
            _connection.Abort(reason);

            // A writer waiting for room in the window must not wait for echoes that will never come.
            _window.Release(1_000_000);
        }
    }
}
