using System.Buffers;
using System.Net.Sockets;
using Broker.Transport.Security;

namespace Broker.Transport.Sockets;

/// <summary>
/// The plaintext connection: the socket's bytes straight into and out of the pipes, with a zero-allocation
/// receiver and sender. Writes flushed while a send is in flight pile up in the output pipe and leave in
/// one gathered send. (The shape of Kestrel's SocketConnection.)
/// </summary>
internal sealed class SocketPipe : PipeConnection
{
    private readonly SocketAwaitableEventArgs _receiver = SocketAwaitableEventArgs.Rent();
    private readonly SocketAwaitableEventArgs _sender = SocketAwaitableEventArgs.Rent();
    private bool _detectTlsPeer;

    private SocketPipe(Socket socket, SocketTransportOptions options, bool detectTlsPeer)
        : base(socket, options)
    {
        _detectTlsPeer = detectTlsPeer;
    }

    /// <summary>Takes ownership of a connected socket and starts its pumps.</summary>
    /// <param name="socket">The connected socket.</param>
    /// <param name="options">Buffer sizes and socket options.</param>
    /// <param name="detectTlsPeer">Whether to refuse a peer whose first bytes are a TLS record (a ClientHello or an alert), naming the encryption mismatch.</param>
    public static SocketPipe Start(Socket socket, SocketTransportOptions options, bool detectTlsPeer = false)
    {
        socket.NoDelay = options.NoDelay;
        var pipe = new SocketPipe(socket, options, detectTlsPeer);
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

                if (_detectTlsPeer)
                {
                    _detectTlsPeer = false;
                    if (TlsRecord.Describe(memory.Span[..received]) is { } record)
                    {
                        Socket.Shutdown(SocketShutdown.Both);
                        return new EncryptionMismatchException(
                            HandshakeFailureReason.TlsPeer,
                            $"The peer at {RemoteEndPoint} speaks TLS (it sent {record}) while this side runs with encryptInternalTraffic Disabled: the peer is probably running with encryptInternalTraffic Enabled. The connection was closed; nothing was downgraded.");
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
