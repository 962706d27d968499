using System.Buffers;
using System.Net.Sockets;

namespace Broker.Transport.Sockets;

/// <summary>Judges the first bytes a plaintext connection received: an error to close it with, or null to go on.</summary>
/// <param name="first">The bytes of the first receive.</param>
/// <param name="remoteEndPoint">The peer, for the message.</param>
internal delegate Exception? FirstBytesCheck(ReadOnlySpan<byte> first, string remoteEndPoint);

/// <summary>
/// The plaintext connection: the socket's bytes straight into and out of the pipes, with a zero-allocation
/// receiver and sender. Writes flushed while a send is in flight pile up in the output pipe and leave in
/// one gathered send. (The shape of Kestrel's SocketConnection.)
/// </summary>
internal sealed class SocketPipe : PipeConnection
{
    private readonly SocketAwaitableEventArgs _receiver = SocketAwaitableEventArgs.Rent();
    private readonly SocketAwaitableEventArgs _sender = SocketAwaitableEventArgs.Rent();
    private FirstBytesCheck? _checkFirstBytes;

    private SocketPipe(Socket socket, SocketTransportOptions options, FirstBytesCheck? checkFirstBytes)
        : base(socket, options)
    {
        _checkFirstBytes = checkFirstBytes;
    }

    /// <summary>Takes ownership of a connected socket and starts its pumps.</summary>
    /// <param name="socket">The connected socket.</param>
    /// <param name="options">Buffer sizes and socket options.</param>
    /// <param name="checkFirstBytes">Shown the first bytes received; an error it returns closes the connection with that error (the security layer's check for a TLS peer).</param>
    public static SocketPipe Start(Socket socket, SocketTransportOptions options, FirstBytesCheck? checkFirstBytes = null)
    {
        socket.NoDelay = options.NoDelay;
        var pipe = new SocketPipe(socket, options, checkFirstBytes);
        pipe.Start();
        return pipe;
    }

    protected override async Task<Exception?> ReceiveAsync()
    {
        var writer = InputPipe.Writer;
        try
        {
            var mayHaveMore = false;
            while (true)
            {
                if (!mayHaveMore)
                {
                    // A zero-byte receive waits for data without holding a buffer, so an idle connection
                    // holds no pooled memory (Kestrel's WaitForDataBeforeAllocatingBuffer).
                    await _receiver.WaitForDataAsync(Socket).ConfigureAwait(false);
                }

                var memory = writer.GetMemory(BufferSize);
                var received = await _receiver.ReceiveAsync(Socket, memory).ConfigureAwait(false);
                if (received == 0)
                {
                    return null; // The peer half-closed: Input completes after its last byte.
                }

                if (_checkFirstBytes is { } check)
                {
                    _checkFirstBytes = null;
                    if (check(memory.Span[..received], RemoteEndPoint.ToString() ?? "?") is { } refused)
                    {
                        Socket.Shutdown(SocketShutdown.Both);
                        return refused;
                    }
                }

                // A full buffer says the socket probably holds more: skip the wait next time.
                mayHaveMore = received == memory.Length;
                Received(received);
                writer.Advance(received);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return null;
                }
            }
        }
        catch (Exception ex)
        {
            return Classify(ex, "receiving");
        }
    }

    // One gathered send of at most 8 blocks (above 8, .NET allocates per send).
    protected override ValueTask<int> WriteSomeAsync(ReadOnlySequence<byte> buffer) => _sender.SendAsync(Socket, buffer);

    protected override ValueTask HalfCloseAsync()
    {
        Socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    // Called once both pumps have ended, so neither event args has an operation pending.
    protected override ValueTask DisposeCoreAsync()
    {
        SocketAwaitableEventArgs.Return(_receiver);
        SocketAwaitableEventArgs.Return(_sender);
        return base.DisposeCoreAsync();
    }
}
