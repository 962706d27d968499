using System.Buffers;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Framing;

/// <summary>The frame reader a connection hands out: framing over real sockets, and what a broken stream does to the connection.</summary>
public class ConnectionFrameReaderTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Frames_of_zero_one_and_the_maximum_bytes_cross_a_connection_whole()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        byte[][] payloads = [[], [0x5A], TestData.Bytes(FrameFormat.DefaultMaxFrameSize, seed: 1), []];
        var frames = server.CreateFrameReader();
        Assert.Equal(FrameFormat.DefaultMaxFrameSize, frames.MaxFrameSize);

        var sending = Task.Run(
            async () =>
            {
                foreach (var payload in payloads)
                {
                    await client.Output.WriteFrameAsync(payload, ct);
                }

                await client.Output.CompleteAsync();
            },
            ct);

        var received = new List<byte[]>();
        while (await frames.ReadFrameAsync(ct).Guarded(ct))
        {
            received.Add(frames.Current.ToArray());
        }

        await sending.Guarded(ct);
        Assert.Equal(payloads, received);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frame_larger_than_the_input_buffer_limit_still_arrives_whole()
    {
        // The pipe resumes a paused writer once its reader has examined everything it holds, so a reader
        // waiting for the rest of a big frame does not deadlock against the input limit.
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(Loopback.Patient(maxBufferSize: 64 * 1024)));
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        var payload = TestData.Bytes(FrameFormat.DefaultMaxFrameSize, seed: 5);
        var frames = server.CreateFrameReader();

        var sending = client.Output.WriteFrameAsync(payload, ct).AsTask();

        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(payload, frames.Current.ToArray());
        await sending.Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frame_one_byte_over_the_maximum_fails_the_reader_and_the_peer_sees_a_reset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        var frames = server.CreateFrameReader(maxFrameSize: 64 * 1024);

        await client.Output.WriteFrameAsync(new byte[] { 1 }, ct);
        await client.Output.WriteFrameAsync(TestData.Bytes((64 * 1024) + 1, seed: 2), ct);

        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal((64 * 1024) + 1, error.Length);
        Assert.Equal(64 * 1024, error.MaxFrameSize);
        Assert.Equal(
            "The peer announced a frame of 65537 bytes, larger than the maximum frame size of 65536 bytes; the connection is closed. Raise MaxFrameSize on this side if such frames are expected.",
            error.Message);

        // The reader aborted the connection with the framing error as the reason; the peer sees a reset.
        var peerError = await Assert.ThrowsAsync<ConnectionResetException>(() => client.Input.ReadToEndAsync(ct).Guarded(ct));
        Assert.Contains("reset the connection", peerError.Message, StringComparison.Ordinal);
        var localError = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await server.Output.WriteAsync(new byte[] { 1 }, ct));
        Assert.Equal(error.Message, localError.Message);
        await server.ConnectionClosed.WhenCanceled().Guarded(ct);
        await client.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_stream_that_ends_mid_frame_is_truncated_the_partial_frame_is_dropped_and_the_peer_sees_a_reset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        var frames = server.CreateFrameReader();

        var stream = FrameFeed.Serialize([[9], TestData.Bytes(1000, seed: 3)]);
        await client.Output.WriteAsync(stream.AsMemory(0, stream.Length - 1), ct);
        await client.Output.CompleteAsync();

        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        var error = await Assert.ThrowsAsync<TruncatedFrameException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(1003, error.Received);
        Assert.Equal(1004, error.Expected);
        Assert.True(frames.Current.IsEmpty);

        // The connection-bound reader aborts the connection with the framing error as the reason.
        var writeError = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await server.Output.WriteAsync(new byte[] { 1 }, ct));
        Assert.Equal(error.Message, writeError.Message);
        await Assert.ThrowsAsync<ConnectionResetException>(() => client.Input.ReadToEndAsync(ct).Guarded(ct));
    }
}
