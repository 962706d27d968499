using System.Collections.Concurrent;
using System.Net;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A backend that sends every frame straight back, on a real listener. When a client ends its stream
/// cleanly, the echo ends its own after the last frame. Disposing it rethrows any session's failure, so a
/// broken echo fails the test that used it.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly TransportListener _listener;
    private readonly ConcurrentBag<Task> _sessions = [];
    private readonly Task _accepting;
    private int _accepted;

    public EchoServer(TransportListenerOptions? options = null)
    {
        _listener = Loopback.Listen(options);
        _accepting = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => _listener.LocalEndPoint;

    /// <summary>How many connections the echo has accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _accepting.WaitAsync(Guard.HangTimeout);
        await Task.WhenAll(_sessions).WaitAsync(Guard.HangTimeout);
    }

    private async Task AcceptLoopAsync()
    {
        while (await _listener.AcceptAsync() is { } connection)
        {
            Interlocked.Increment(ref _accepted);
            _sessions.Add(Task.Run(() => EchoAsync(connection)));
        }
    }

    private static async Task EchoAsync(TransportConnection connection)
    {
        await using var _ = connection;
        var frames = connection.CreateFrameReader();
        while (await frames.ReadFrameAsync())
        {
            connection.Output.WriteFrame(frames.Current);
            await connection.Output.FlushAsync();
        }

        await connection.Output.CompleteAsync();
    }
}
