using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Security;

/// <summary>
/// An encrypted connection: an <see cref="SslStream"/> straight over the socket, its plaintext pumped
/// into and out of the pipes. The send loop hands the stream one whole pipe segment at a time (a 64 KiB
/// pool block by default), so small frames flushed one by one while a write is in flight leave as full TLS
/// records, not one record per flush. (SslStream sits on the socket itself rather than on the socket
/// pipes, as Kestrel stacks them, to spare two copies of every byte.)
/// </summary>
internal sealed class TlsPipe : PipeConnection
{
    // The largest plaintext a TLS record carries (RFC 8446, 5.1): a read this size says more may be waiting.
    private const int MaxRecordPlaintext = 16 * 1024;
    private const int MaxUnflushed = 64 * 1024;

    private readonly SslStream _ssl;
    private readonly ReadGatedStream _transport;
    private readonly bool _isClient;

    private TlsPipe(Socket socket, SslStream ssl, ReadGatedStream transport, bool isClient, SocketTransportOptions options)
        : base(socket, options)
    {
        _ssl = ssl;
        _transport = transport;
        _isClient = isClient;
    }

    /// <summary>Takes ownership of an authenticated stream (over <paramref name="transport"/>) and its socket, and starts the pumps.</summary>
    public static TlsPipe Start(Socket socket, SslStream ssl, ReadGatedStream transport, bool isClient, SocketTransportOptions options)
    {
        var pipe = new TlsPipe(socket, ssl, transport, isClient, options);
        pipe.Start();
        return pipe;
    }

    protected override async Task<Exception?> ReceiveAsync()
    {
        var writer = InputPipe.Writer;
        var unflushed = 0;
        try
        {
            var mayHaveMore = false;
            var receivedAny = false;
            while (true)
            {
                if (!mayHaveMore)
                {
                    // SslStream honours zero-byte reads: wait for a record without holding a buffer while idle.
                    await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                }

                var memory = writer.GetMemory(BufferSize);
                var received = await _ssl.ReadAsync(memory).ConfigureAwait(false);
                if (received == 0)
                {
                    await DeliverAsync(writer, unflushed).ConfigureAwait(false);

                    // TLS 1.3 lets the client finish its side of the handshake before the server has checked
                    // the client's certificate; a refusing backend then just closes. An end before any byte
                    // is therefore reported as the likely refusal it is, not as a clean end of stream.
                    if (_isClient && !receivedAny)
                    {
                        return RefusedAfterHandshake(null);
                    }

                    // SslStream returns 0 for a close_notify and for a bare FIN alike; only the FIN reached the socket.
                    return _transport.SawEndOfStream ? Truncated(null) : null;
                }

                receivedAny = true;
                mayHaveMore = received >= MaxRecordPlaintext || received == memory.Length;
                Received(received);
                writer.Advance(received);
                unflushed += received;

                // More records wait on the socket: decrypt them before waking the application. SslStream hands
                // out one record (16 KiB at most) per read, and each flush is a dispatch of the reader, so a
                // 64 KiB frame took four; now it takes one. Only while the socket already holds bytes, so
                // nothing is ever held back waiting for the peer.
                if (mayHaveMore && unflushed < MaxUnflushed && Socket.Available > 0)
                {
                    continue;
                }

                unflushed = 0;
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return null;
                }
            }
        }
        catch (AuthenticationException ex) when (_isClient)
        {
            return RefusedAfterHandshake(ex);
        }
        catch (Exception ex)
        {
            // What was decrypted before the failure still reaches the application, ahead of the error.
            await DeliverAsync(writer, unflushed).ConfigureAwait(false);

            // A FIN inside a TLS record: SslStream reports the unexpected end; it is a cut stream all the same.
            return ex is IOException and not TransportException && _transport.SawEndOfStream && AbortReason is null ? Truncated(ex) : Classify(ex, "receiving");
        }
        finally
        {
            // No more decryption: the close may run at any time now.
            _transport.ReadingEnded();
        }
    }

    private static async ValueTask DeliverAsync(PipeWriter writer, int unflushed)
    {
        if (unflushed > 0)
        {
            await writer.FlushAsync().ConfigureAwait(false);
        }
    }

    private ConnectionTruncatedException Truncated(Exception? error) => new(
        $"The peer at {RemoteEndPoint} ended the connection without TLS close_notify (a TCP FIN where a closing peer first says it is done): "
        + "the stream was cut, by a crash, a lost connection or a FIN injected on the way, and what the peer sent after the last byte received may be lost. "
        + "A partial frame is not delivered.",
        error);

    private HandshakeException RefusedAfterHandshake(Exception? error) => new(
        HandshakeFailureReason.RejectedByPeer,
        $"The backend at {RemoteEndPoint} closed the connection right after the TLS handshake, before sending any data. "
        + "Most often it refused this frontend (TLS 1.3 checks the client certificate after the frontend's side of the handshake has finished): "
        + "check that this frontend's certificate chains to the backend's trust bundle, has the client-authentication EKU and carries an identity the backend allows, and see the backend's log."
        + (error is null ? string.Empty : $" ({error.Message})"),
        error);

    // One pipe segment (a pool block, up to 64 KiB) per write. SslStream cuts each write into full 16 KiB
    // records, so a queue of small frames still leaves as full records; only the end of what is queued makes
    // a short one. Pooled, so a write that completes asynchronously allocates nothing.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected override async ValueTask<int> WriteSomeAsync(ReadOnlySequence<byte> buffer)
    {
        var segment = buffer.First;
        await _ssl.WriteAsync(segment).ConfigureAwait(false);
        return segment.Length;
    }

    // close_notify, then FIN. The close must not run while the receive loop decrypts (see ReadGatedStream);
    // and the FIN goes even if close_notify could not, or the peer would wait for the end forever.
    protected override async ValueTask HalfCloseAsync()
    {
        try
        {
            await _transport.CloseExclusivelyAsync(_ssl.ShutdownAsync).ConfigureAwait(false);

            // The close_notify, and what was written before it, may still wait in the send queue: the FIN follows them.
            await _transport.EndWritesAsync().ConfigureAwait(false);
        }
        finally
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
    }

    protected override async ValueTask DisposeCoreAsync()
    {
        await _ssl.DisposeAsync().ConfigureAwait(false);
        await base.DisposeCoreAsync().ConfigureAwait(false);
    }
}
