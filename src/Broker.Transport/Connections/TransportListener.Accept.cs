using System.Net.Sockets;
using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

public sealed partial class TransportListener
{
    private int _pendingSetups;

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
                socket = await _listenSocket.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                break;
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted, or a transient lack of descriptors: keep serving.
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
        SocketPipe transport;
        try
        {
            transport = SocketPipe.Start(socket, _options.Socket);
        }
        catch (SocketException)
        {
            socket.Dispose(); // Reset before we could even set it up.
            return;
        }

        Interlocked.Increment(ref _pendingSetups);
        TransportConnection? connection = null;
        try
        {
            connection = await _security.AcceptAsync(transport, stopping).ConfigureAwait(false);
            Interlocked.Decrement(ref _pendingSetups);
            await _ready.Writer.WriteAsync(connection, stopping).ConfigureAwait(false);
            return;
        }
#pragma warning disable CA1031 // A failed setup is the peer's problem; the accept loop must keep serving everyone else.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            Interlocked.Decrement(ref _pendingSetups);
            await transport.DisposeAsync().ConfigureAwait(false);
        }
    }
}
