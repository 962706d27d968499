using System.Net.Sockets;
using Broker.Transport.Connections;

namespace Broker.Transport.Sockets;

internal sealed partial class SocketPipe
{
    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        var writer = _input.Writer;
        try
        {
            var mayHaveMore = false;
            while (true)
            {
                if (!mayHaveMore)
                {
                    // A zero-byte receive waits for data without holding a buffer, so an idle connection
                    // holds no pooled memory (Kestrel's WaitForDataBeforeAllocatingBuffer).
                    await _receiver.WaitForDataAsync(_socket).ConfigureAwait(false);
                }

                var memory = writer.GetMemory(_bufferSize);
                var received = await _receiver.ReceiveAsync(_socket, memory).ConfigureAwait(false);
                if (received == 0)
                {
                    break; // The peer half-closed: Input completes after its last byte.
                }

                // A full buffer says the socket probably holds more: skip the wait next time.
                mayHaveMore = received == memory.Length;
                writer.Advance(received);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            error = Classify(ex, "receiving");
        }
        finally
        {
            error = Volatile.Read(ref _abortReason) ?? error;
            if (error is ConnectionResetException)
            {
                // A reset connection takes nothing more: stop the send loop too, with the same error.
                Volatile.Write(ref _sendError, error);
                _output.Reader.CancelPendingRead();
            }

            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        Exception? error = null;
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    var sent = await _sender.SendAsync(_socket, buffer).ConfigureAwait(false);
                    buffer = buffer.Slice(sent);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            if (Volatile.Read(ref _abortReason) is null && Volatile.Read(ref _sendError) is null)
            {
                // Everything queued is in the socket: half-close, so the peer's Input completes after the last byte.
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex)
        {
            error = Classify(ex, "sending");
        }
        finally
        {
            error = Volatile.Read(ref _abortReason) ?? Volatile.Read(ref _sendError) ?? error;
            await reader.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    /// <summary>Sorts a socket failure into the transport's typed errors.</summary>
    private TransportException? Classify(Exception ex, string doing) => ex switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NetworkReset or SocketError.TimedOut } se
            => new ConnectionResetException($"The peer at {RemoteEndPoint} reset the connection or vanished while {doing} ({se.SocketErrorCode}); bytes in flight may be lost.", se),

        // Our own close or abort woke the pending operation: the abort reason, if any, is reported instead.
        SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted } => null,
        ObjectDisposedException => null,
        _ => new TransportException($"The connection to {RemoteEndPoint} failed while {doing}: {ex.Message}", ex),
    };
}
