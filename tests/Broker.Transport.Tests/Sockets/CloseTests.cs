using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Sockets;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Sockets;

public class CloseTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Completing_output_delivers_every_byte_then_the_peer_input_completes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        var sent = TestData.Bytes(3 * 1024 * 1024 + 17, seed: 1);

        var receiving = server.Input.ReadToEndAsync(ct);
        await client.Output.WriteInChunksAsync(sent, 256 * 1024, ct);
        await client.Output.CompleteAsync();
        var received = await receiving.Guarded(ct);

        Assert.Equal(sent.Length, received.Length);
        Assert.Equal(sent, received);

        // The end stays an end: later reads report completion with nothing in them, and no error.
        var after = await server.Input.ReadAsync(ct).Guarded(ct);
        Assert.True(after.IsCompleted);
        Assert.True(after.Buffer.IsEmpty);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_one_side_completes_its_output_the_other_direction_still_carries_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        await client.Output.WriteAsync("request"u8.ToArray(), ct);
        await client.Output.CompleteAsync();
        Assert.Equal("request"u8.ToArray(), await server.Input.ReadToEndAsync(ct).Guarded(ct));

        // Half-close: the client said it has nothing more to send, not that it stopped listening.
        var reply = TestData.Bytes(200_000, seed: 2);
        await server.Output.WriteAsync(reply, ct);
        await server.Output.CompleteAsync();
        Assert.Equal(reply, await client.Input.ReadToEndAsync(ct).Guarded(ct));

        // Both directions are finished now, so both sides report the connection closed.
        await client.ConnectionClosed.WhenCanceled().Guarded(ct);
        await server.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Disposing_a_connection_delivers_what_was_flushed_before_it_closes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var __ = server;

        // Under the output limit (1 MiB), so every flush returns before the peer has read a byte: the
        // bytes are still queued in the pipe or the socket when DisposeAsync starts.
        var sent = TestData.Bytes(900 * 1024, seed: 3);
        await client.Output.WriteInChunksAsync(sent, 64 * 1024, ct);
        await client.DisposeAsync().Guarded(ct);

        var received = await server.Input.ReadToEndAsync(ct).Guarded(ct);
        Assert.Equal(sent.Length, received.Length);
        Assert.Equal(sent, received);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Disposing_with_bytes_the_peer_does_not_take_aborts_after_the_close_timeout_and_the_peer_sees_a_reset()
    {
        var ct = TestContext.Current.CancellationToken;
        var small = Loopback.Patient(maxBufferSize: 64 * 1024);
        var impatient = new SocketTransportOptions { MaxInputBufferSize = 64 * 1024, MaxOutputBufferSize = 64 * 1024, CloseTimeout = TimeSpan.Zero };
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(small));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(impatient), ct);
        await using var __ = server;
        var stall = await Backpressure.WriteUntilStalledAsync(client.Output, ct);
        Assert.NotNull(stall.PendingFlush);

        // Returns instead of waiting for a peer that reads nothing; the flush that waited learns why.
        await client.DisposeAsync().Guarded(ct);

        var flushError = await Assert.ThrowsAsync<ConnectionAbortedException>(() => stall.PendingFlush.Guarded(ct));
        Assert.Equal("The connection was disposed with unsent bytes that the peer did not take within the close timeout (0 s).", flushError.Message);
        await Assert.ThrowsAsync<ConnectionResetException>(() => server.Input.ReadToEndAsync(ct).Guarded(ct));
        await client.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_close_timeout_runs_on_the_options_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var small = Loopback.Patient(maxBufferSize: 64 * 1024);
        var waiting = new SocketTransportOptions { MaxInputBufferSize = 64 * 1024, MaxOutputBufferSize = 64 * 1024, CloseTimeout = TimeSpan.FromSeconds(30), TimeProvider = time };
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(small));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(waiting), ct);
        await using var __ = server;
        var stall = await Backpressure.WriteUntilStalledAsync(client.Output, ct);
        Assert.NotNull(stall.PendingFlush);

        // The peer reads nothing: the dispose waits for it on the fake clock, not the wall clock.
        var disposing = client.DisposeAsync().AsTask();
        await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
        Assert.False(disposing.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
        Assert.False(disposing.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));
        await disposing.Guarded(ct);
        var flushError = await Assert.ThrowsAsync<ConnectionAbortedException>(() => stall.PendingFlush.Guarded(ct));
        Assert.Equal("The connection was disposed with unsent bytes that the peer did not take within the close timeout (30 s).", flushError.Message);
        await Assert.ThrowsAsync<ConnectionResetException>(() => server.Input.ReadToEndAsync(ct).Guarded(ct));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Disposing_a_connection_twice_is_harmless()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var __ = server;

        await client.DisposeAsync().Guarded(ct);
        await client.DisposeAsync().Guarded(ct);

        Assert.Empty(await server.Input.ReadToEndAsync(ct).Guarded(ct));
        await client.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frame_reader_sees_a_clean_close_as_the_end_of_the_stream()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        await client.Output.WriteAsync(FrameFeed.Serialize([[1, 2], []]), ct);
        await client.DisposeAsync();

        var frames = server.CreateFrameReader();
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.False(await frames.ReadFrameAsync(ct).Guarded(ct));
    }
}
