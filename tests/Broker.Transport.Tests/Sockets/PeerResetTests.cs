using System.Buffers;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Sockets;

public class PeerResetTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_peer_that_resets_mid_stream_fails_the_read_with_a_typed_reset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        using var peer = await RawPeerAsync(listener, ct);
        await using var server = await listener.AcceptAsync(ct).Guarded(ct) ?? throw new InvalidOperationException("The listener closed.");

        await peer.SendAsync(TestData.Bytes(100_000, seed: 1), ct);
        Reset(peer);

        var error = await Assert.ThrowsAsync<ConnectionResetException>(() => server.Input.ReadToEndAsync(ct).Guarded(ct));
        Assert.Contains($"The peer at {server.RemoteEndPoint} reset the connection", error.Message, StringComparison.Ordinal);
        var socketError = Assert.IsType<SocketException>(error.InnerException);
        Assert.Equal(SocketError.ConnectionReset, socketError.SocketErrorCode);
        await server.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_reset_in_the_middle_of_a_frame_is_a_reset_not_a_truncated_frame()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        using var peer = await RawPeerAsync(listener, ct);
        await using var server = await listener.AcceptAsync(ct).Guarded(ct) ?? throw new InvalidOperationException("The listener closed.");
        var frames = server.CreateFrameReader();

        // One whole frame, then the header and half the payload of a second.
        var stream = FrameFeed.Serialize([[1, 2, 3], TestData.Bytes(1000, seed: 2)]);
        await peer.SendAsync(stream.AsMemory(0, stream.Length - 500), ct);
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(new byte[] { 1, 2, 3 }, frames.Current.ToArray());
        Reset(peer);

        await Assert.ThrowsAsync<ConnectionResetException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.True(frames.Current.IsEmpty);
    }

    private static async Task<Socket> RawPeerAsync(TransportListener listener, CancellationToken cancellationToken)
    {
        var peer = new Socket(listener.LocalEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint, cancellationToken);
        return peer;
    }

    /// <summary>Closes with linger {on, 0}: the kernel sends RST instead of FIN.</summary>
    private static void Reset(Socket peer)
    {
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();
    }
}
