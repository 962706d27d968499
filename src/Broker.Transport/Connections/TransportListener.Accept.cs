using System.Net;
using System.Net.Sockets;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;

namespace Broker.Transport.Connections;

public sealed partial class TransportListener
{
    private readonly ConnectionTelemetry _telemetry;
    private readonly ConnectionLifetimes _lifetimes;
    private long _handshakesFailed;
    private int _pendingHandshakes;

    /// <summary>Raised, on a thread-pool thread, for each connection refused during setup, with the reason.</summary>
    public event EventHandler<HandshakeFailedEventArgs>? HandshakeFailed;

    /// <summary>How many connections were refused during setup (timeouts, untrusted peers, mismatches...) since the listener started.</summary>
    public long HandshakesFailed => Interlocked.Read(ref _handshakesFailed);

    /// <summary>How many connections are in their handshake right now; at most <see cref="TransportListenerOptions.MaxPendingHandshakes"/>.</summary>
    public int PendingHandshakes => Volatile.Read(ref _pendingHandshakes);

    /// <summary>Accepts sockets until the listener is disposed. Nothing a peer does can end this loop.</summary>
    private async Task AcceptLoopAsync()
    {
        var stopping = _stopping.Token;
        var setups = new List<Task>();
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                // Past MaxPendingHandshakes, new peers wait in the kernel's backlog until a slot frees.
                await _handshakeSlots.WaitAsync(stopping).ConfigureAwait(false);
                socket = await _listenSocket.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                || ex is SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted })
            {
                break;
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted, or a transient lack of descriptors: keep serving.
                _handshakeSlots.Release();
                continue;
            }

            setups.RemoveAll(static t => t.IsCompleted);
            setups.Add(SetUpAsync(socket, stopping));
        }

        await Task.WhenAll(setups).ConfigureAwait(false);
    }

    /// <summary>Sets one accepted socket up and queues it for <see cref="AcceptAsync"/>; never throws.</summary>
    private async Task SetUpAsync(Socket socket, CancellationToken stopping)
    {
        EndPoint? remote = null;
        TransportConnection? connection = null;
        var started = _telemetry.Start();
        Interlocked.Increment(ref _pendingHandshakes);
        try
        {
            remote = socket.RemoteEndPoint;
            var secured = await _security.AcceptAsync(socket, stopping).ConfigureAwait(false);
            connection = new TransportConnection(secured.Pipe, secured.Info);
        }
#pragma warning disable CA1031 // A failed setup is the peer's problem; the accept loop must keep serving everyone else.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            socket.Dispose();
            if (!stopping.IsCancellationRequested)
            {
                OnHandshakeFailed(remote, ex, started);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pendingHandshakes);
            _handshakeSlots.Release();
        }

        if (connection is null)
        {
            return;
        }

        try
        {
            _telemetry.Opened(connection, started);
            _lifetimes.Track(connection);
            await _ready.Writer.WriteAsync(connection, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void OnHandshakeFailed(EndPoint? remote, Exception ex, long started)
    {
        Interlocked.Increment(ref _handshakesFailed);
        var error = ex as HandshakeException
            ?? new HandshakeException(HandshakeFailureReason.Other, $"Setting up the connection from {remote} failed: {ex.Message}", ex);
        _telemetry.Refused(remote, error, started);
        var handler = HandshakeFailed;
        if (handler is not null)
        {
            ThreadPool.QueueUserWorkItem(
                static state => state.handler(state.sender, new HandshakeFailedEventArgs(state.remote, state.error)),
                (handler, sender: this, remote, error),
                preferLocal: false);
        }
    }
}

/// <summary>A connection the listener refused during setup.</summary>
public sealed class HandshakeFailedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public HandshakeFailedEventArgs(EndPoint? remoteEndPoint, HandshakeException error)
    {
        RemoteEndPoint = remoteEndPoint;
        Error = error;
    }

    /// <summary>The refused peer's address, when it was known.</summary>
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>Why it was refused.</summary>
    public HandshakeException Error { get; }
}
