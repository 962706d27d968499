using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Cli.Serve;

/// <summary>
/// The running backend: takes each connection the listener hands out and echoes or sinks its bytes, raw (no
/// framing), so that any TLS client can talk to it. Stops on a signal: no new connections, open ones get a
/// grace period, then are closed.
/// </summary>
internal sealed class Server
{
    private readonly TransportListener _listener;
    private readonly ILogger _log;
    private readonly bool _echo;
    private readonly ConcurrentDictionary<TransportConnection, Task> _open = new();
    private long _accepted;

    public Server(TransportListener listener, ILogger log, bool echo)
    {
        _listener = listener;
        _log = log;
        _echo = echo;
    }

    /// <summary>Serves until <paramref name="signal"/> asks to stop, then drains for at most <paramref name="grace"/>.</summary>
    public async Task RunAsync(ShutdownSignal signal, TimeSpan grace)
    {
        var acceptLoop = AcceptLoopAsync();
        try
        {
            await Task.Delay(Timeout.Infinite, signal.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Disposing the listener unbinds the port and makes AcceptAsync return null; open connections stay.
        await _listener.DisposeAsync().ConfigureAwait(false);
        await acceptLoop.ConfigureAwait(false);
        ServeLog.Stopping(_log, signal.Received?.ToString() ?? "stop", GoDuration.Format(grace), _open.Count);
        var all = Task.WhenAll(_open.Values);
        try
        {
            await all.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ServeLog.GraceExpired(_log, _open.Count);
            foreach (var connection in _open.Keys)
            {
                connection.Abort("The server is shutting down: its grace period is over.");
            }

            // An aborted connection's handler ends at its next read or flush; bound the wait all the same.
            await all.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        ServeLog.Stopped(_log, Interlocked.Read(ref _accepted), _listener.HandshakesFailed);
    }

    private async Task AcceptLoopAsync()
    {
        while (await _listener.AcceptAsync().ConfigureAwait(false) is { } connection)
        {
            Interlocked.Increment(ref _accepted);

            // Registered before it runs, so that a stop always finds it.
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _open[connection] = ServeAsync(connection, started.Task);
            started.SetResult();
        }
    }

    private async Task ServeAsync(TransportConnection connection, Task registered)
    {
        await registered.ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        long received = 0;
        long sent = 0;
        ServeLog.ConnectionOpened(_log, connection.ConnectionId, connection.RemoteEndPoint, Describe.Security(connection.Security, "client"));

        // Asked to drain (a certificate about to expire, the client's root leaving the trust bundle, --max-connection-age):
        // serve has no message boundaries to finish at, so it goes on echoing or sinking and the transport closes the
        // connection at its bound, gracefully (close_notify, then FIN), after what was echoed.
        using var draining = connection.DrainRequested.UnsafeRegister(
            static state =>
            {
                var (log, connection) = ((ILogger, TransportConnection))state!;
                ServeLog.ConnectionDraining(log, connection.ConnectionId, connection.DrainReason, connection.ClosesAt);
            },
            (_log, connection));
        try
        {
            while (true)
            {
                var result = await connection.Input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                received += buffer.Length;
                var echoed = false;
                if (_echo && !buffer.IsEmpty)
                {
                    // The bytes go back exactly as they came: no framing, so openssl s_client can talk to it.
                    foreach (var segment in buffer)
                    {
                        connection.Output.Write(segment.Span);
                    }

                    sent += buffer.Length;
                    echoed = true;
                }

                connection.Input.AdvanceTo(buffer.End);
                if (echoed && (await connection.Output.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            if (!_echo)
            {
                // The sink's answer, once the client has finished: the count of bytes received, 8 bytes
                // big-endian. send checks it against what it sent, so "sent" means "arrived".
                BinaryPrimitives.WriteInt64BigEndian(connection.Output.GetSpan(sizeof(long)), received);
                connection.Output.Advance(sizeof(long));
                sent = sizeof(long);
            }

            // Half-close after the last byte: the client's reads end once it has everything.
            await connection.Output.CompleteAsync().ConfigureAwait(false);
            ServeLog.ConnectionClosed(_log, connection.ConnectionId, Stopwatch.GetElapsedTime(started).TotalSeconds, received, sent);
        }
#pragma warning disable CA1031 // One connection's failure is logged; the server goes on serving the others.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            ServeLog.ConnectionFailed(_log, connection.ConnectionId, received, ex.Message);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            _open.TryRemove(connection, out _);
        }
    }
}
