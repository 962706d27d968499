using Broker.Transport.Connections;

namespace Broker.Transport.Sockets;

/// <summary>
/// The transport's own close of a connection that reached its lifetime bound: what the application has flushed
/// is sent, then close_notify (for TLS) and a FIN; later flushes fail with the reason; the peer gets
/// <see cref="SocketTransportOptions.CloseTimeout"/> to end its side, and is reset if it does not.
/// </summary>
internal abstract partial class PipeConnection
{
    private ConnectionDrainedException? _closeReason;

    /// <summary>The reason given to <see cref="CloseAsync"/>, once it was called.</summary>
    protected ConnectionDrainedException? CloseReason => Volatile.Read(ref _closeReason);

    /// <summary>
    /// Closes the connection from the transport's side, gracefully: the send loop sends what was flushed and
    /// half-closes; reads go on until the peer ends its side. Returns once both directions are finished.
    /// </summary>
    public async Task CloseAsync(ConnectionDrainedException reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null || AbortReason is not null)
        {
            return;
        }

        if (!_sending.IsCompleted)
        {
            try
            {
                // Wakes the send loop, which then sends what is buffered and stops (see SendAsync).
                OutputPipe.Reader.CancelPendingRead();
            }
            catch (InvalidOperationException)
            {
                // The send loop completed its reader in between: nothing is left to send.
            }
        }

        try
        {
            await _sending.WaitAsync(_closeTimeout, _closeClock).ConfigureAwait(false);
            await _receiving.WaitAsync(_closeTimeout, _closeClock).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Abort(new ConnectionAbortedException(
                $"{reason.Message} The peer at {RemoteEndPoint} did not take the last bytes or end its side within the close timeout ({_closeTimeout.TotalSeconds:0.#} s), so the connection was reset."));
            return;
        }

        // Both directions are over; the socket goes now rather than when the application disposes the connection.
        Socket.Dispose();
    }
}
