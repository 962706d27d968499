using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Connections;

/// <summary>
/// The frontend's connection keeper against real listeners on loopback, its waits on a fake clock: gRPC's backoff
/// schedule, a hand-over to a successor connected before the draining connection closes with frames flowing across
/// it, and a backend restart.
/// </summary>
public sealed class ConnectionKeeperTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Failed_attempts_back_off_as_gRPC_does_1_s_times_1_6_with_20_percent_jitter_up_to_the_maximum()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var nobody = FreePort();
        await using var keeper = new ConnectionKeeper(Loopback.Connector(), nobody, new ConnectionKeeperOptions { MaxBackoff = TimeSpan.FromSeconds(10), Environment = new TransportEnvironment { TimeProvider = time } });
        var events = Watch(keeper);
        var connections = keeper.ConnectionsAsync(ct).GetAsyncEnumerator(ct);
        var first = connections.MoveNextAsync().AsTask();
        try
        {
            await AssertBackoffScheduleAsync(keeper, events, time, first, ct);
        }
        finally
        {
            // The keeper first: an enumerator cannot be disposed while a MoveNextAsync is pending.
            await keeper.DisposeAsync();
            await first.Within("the enumeration to end once the keeper is disposed", ct);
            await connections.DisposeAsync();
        }

        Assert.False(await first);
        Assert.Equal(ConnectionKeeperState.Stopped, keeper.State);
    }

    private static async Task AssertBackoffScheduleAsync(ConnectionKeeper keeper, Channel<ConnectionKeeperStateChangedEventArgs> events, FakeTimeProvider time, Task<bool> first, CancellationToken ct)
    {
        var expected = new[] { 1, 1.6, 2.56, 4.096, 6.5536, 10, 10 };
        foreach (var backoff in expected)
        {
            var backingOff = await NextAsync(events, ConnectionKeeperState.BackingOff, ct);
            Assert.InRange(backingOff.RetryIn!.Value.TotalSeconds, backoff * 0.8, backoff * 1.2);
            Assert.IsType<ConnectFailedException>(backingOff.Error);
            Assert.Contains("ConnectionRefused", backingOff.Error!.Message, StringComparison.Ordinal);
            Assert.Equal(ConnectionKeeperState.BackingOff, keeper.State);
            Assert.False(first.IsCompleted);
            time.Advance(backingOff.RetryIn.Value);
        }

        var last = await NextAsync(events, ConnectionKeeperState.BackingOff, ct);
        Assert.Same(keeper.LastError, last.Error);
        Assert.Equal(0, keeper.Reconnects);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_draining_connection_hands_over_to_a_successor_connected_before_it_closes_and_no_frame_is_lost()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var listener = Loopback.Listen();
        var echo = EchoFramesAsync(listener, ct);
        var client = Loopback.PlaintextClient();
        client.Environment = client.Environment with { TimeProvider = time };
        client.MaxConnectionAge = TimeSpan.FromMinutes(1);
        client.DrainGrace = TimeSpan.FromSeconds(10);
        await using var keeper = new ConnectionKeeper(new TransportConnector(client), listener.LocalEndPoint, new ConnectionKeeperOptions { Environment = new TransportEnvironment { TimeProvider = time } });

        var echoed = new ConcurrentQueue<int>();
        var sent = 0;
        var links = new List<(TransportConnection Connection, bool PreviousStillOpen, Task Running)>();
        TaskCompletionSource? stopPrevious = null;
        var secondUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consuming = Task.Run(
            async () =>
            {
                await foreach (var connection in keeper.ConnectionsAsync(ct))
                {
                    // The application moves its writes to the newest connection and ends the previous one.
                    var previousOpen = links.Count > 0 && !links[^1].Connection.ConnectionClosed.IsCancellationRequested;
                    stopPrevious?.TrySetResult();
                    stopPrevious = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    links.Add((connection, previousOpen, SendAndReadEchoesAsync(connection, stopPrevious.Task, () => Interlocked.Increment(ref sent) - 1, echoed, ct)));
                    if (links.Count == 2)
                    {
                        secondUp.TrySetResult();
                        break;
                    }
                }
            },
            ct);

        await WaitUntilAsync(() => echoed.Count >= 50, "50 frames echoed on the first connection", ct);
        // To the drain (MaxConnectionAge, jittered), short of the close DrainGrace later.
        var draining = links[0].Connection;
        time.Advance(draining.ClosesAt!.Value - client.DrainGrace - time.GetUtcNow());
        await secondUp.Task.Within("the successor of the draining connection", ct);
        await consuming;
        var (old, _, oldRunning) = links[0];
        Assert.Equal(ConnectionDrainReason.MaxConnectionAge, old.DrainReason);
        Assert.True(links[1].PreviousStillOpen, "The draining connection had closed before its successor was up: break before make.");
        await oldRunning.Within("the draining connection to finish its last echoes", ct);
        var before = echoed.Count;
        await WaitUntilAsync(() => echoed.Count >= before + 50, "50 more frames echoed on the successor", ct);
        Assert.Equal(1, keeper.HandOvers);
        Assert.Equal(0, keeper.Reconnects);
        Assert.Equal(ConnectionKeeperState.Ready, keeper.State);

        // Every frame sent came back once, on one connection or the other, in order per connection: none lost, none twice.
        stopPrevious!.TrySetResult();
        await links[1].Running.Within("the successor's sender to stop", ct);
        var numbers = echoed.Order().ToArray();
        Assert.Equal(Enumerable.Range(0, Volatile.Read(ref sent)), numbers);
        await links[1].Connection.DisposeAsync();
        await old.DisposeAsync();
        _ = echo;
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_a_backend_restart_the_keeper_reconnects_with_backoff_until_the_backend_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var listener = Loopback.Listen();
        var port = listener.LocalEndPoint;
        await using var keeper = new ConnectionKeeper(Loopback.Connector(), port, new ConnectionKeeperOptions { Environment = new TransportEnvironment { TimeProvider = time } });
        var events = Watch(keeper);
        await using var connections = keeper.ConnectionsAsync(ct).GetAsyncEnumerator(ct);
        Assert.True(await connections.MoveNextAsync().AsTask().Within("the first connection", ct));
        var first = connections.Current;
        var accepted = await listener.AcceptAsync(ct).AsTask().Within("the backend to accept", ct);

        // The backend restarts: its connections reset, its port is closed for a while.
        accepted!.Abort("backend restarting");
        await listener.DisposeAsync();
        await first.ConnectionClosed.WhenCanceled().Within("the frontend to see the reset", ct);
        var down = await NextAsync(events, ConnectionKeeperState.BackingOff, ct);
        Assert.IsType<ConnectionResetException>(down.Error);
        Assert.Contains("without being asked to drain (reset)", down.Error!.Message, StringComparison.Ordinal);
        time.Advance(down.RetryIn!.Value);
        var refused = await NextAsync(events, ConnectionKeeperState.BackingOff, ct);
        Assert.IsType<ConnectFailedException>(refused.Error);

        await using var restarted = TransportListener.Bind(port, Loopback.PlaintextServer());
        time.Advance(refused.RetryIn!.Value);
        Assert.True(await connections.MoveNextAsync().AsTask().Within("the connection to the restarted backend", ct));
        await using var second = connections.Current;
        Assert.NotSame(first, second);
        Assert.Equal(ConnectionKeeperState.Ready, keeper.State);
        Assert.Equal(1, keeper.Reconnects);
        Assert.Equal(0, keeper.HandOvers);
        await first.DisposeAsync();
    }

    [Fact]
    public void Keeper_options_out_of_range_are_refused_with_the_field_named()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, 1);
        var error = Assert.Throws<ArgumentException>(() => new ConnectionKeeper(Loopback.Connector(), endpoint, new ConnectionKeeperOptions { Multiplier = 0.5 }));
        Assert.Contains("Multiplier is 0.5; it must be at least 1", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<ArgumentException>(() => new ConnectionKeeper(Loopback.Connector(), endpoint, new ConnectionKeeperOptions { MaxBackoff = TimeSpan.FromMilliseconds(10) }));
        Assert.Contains("MaxBackoff is 00:00:00.0100000; it must be at least InitialBackoff", error.Message, StringComparison.Ordinal);
    }

    private static IPEndPoint FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    private static Channel<ConnectionKeeperStateChangedEventArgs> Watch(ConnectionKeeper keeper)
    {
        var events = Channel.CreateUnbounded<ConnectionKeeperStateChangedEventArgs>();
        keeper.StateChanged += (_, e) => events.Writer.TryWrite(e);
        return events;
    }

    private static async Task<ConnectionKeeperStateChangedEventArgs> NextAsync(Channel<ConnectionKeeperStateChangedEventArgs> events, ConnectionKeeperState state, CancellationToken ct)
    {
        while (true)
        {
            var next = await events.Reader.ReadAsync(ct).AsTask().Within($"the keeper to reach {state}", ct);
            if (next.State == state)
            {
                return next;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Guard.HangTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited {Guard.HangTimeout.TotalSeconds:0} s for {what}.");
            await Task.Delay(10, ct);
        }
    }

    /// <summary>A backend that echoes every frame back on every connection it accepts, until each one ends.</summary>
    private static async Task EchoFramesAsync(TransportListener listener, CancellationToken ct)
    {
        while (await listener.AcceptAsync(ct) is { } connection)
        {
            _ = Task.Run(
                async () =>
                {
                    await using var _ = connection;
                    var reader = connection.CreateFrameReader();
                    while (await reader.ReadFrameAsync(ct))
                    {
                        await connection.Output.WriteFrameAsync(reader.Current.ToArray(), ct);
                    }

                    await connection.Output.CompleteAsync();
                },
                ct);
        }
    }

    /// <summary>Sends numbered frames one at a time, each echoed before the next, until <paramref name="stop"/>; then ends its side and reads to the end.</summary>
    private static async Task SendAndReadEchoesAsync(TransportConnection connection, Task stop, Func<int> next, ConcurrentQueue<int> echoed, CancellationToken ct)
    {
        var reader = connection.CreateFrameReader();
        var frame = new byte[4];
        while (!stop.IsCompleted)
        {
            BinaryPrimitives.WriteInt32BigEndian(frame, next());
            await connection.Output.WriteFrameAsync(frame, ct);
            Assert.True(await reader.ReadFrameAsync(ct), "The backend ended the connection before echoing a frame.");
            echoed.Enqueue(BinaryPrimitives.ReadInt32BigEndian(reader.Current.ToArray()));
        }

        await connection.Output.CompleteAsync();
        Assert.False(await reader.ReadFrameAsync(ct));
    }
}
