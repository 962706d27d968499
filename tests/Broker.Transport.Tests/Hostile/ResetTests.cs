using System.Buffers;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Hostile;

/// <summary>
/// Peers that reset the connection in the middle of something over TLS: the handshake, a frame, a frame too
/// large, a stream cut mid-frame. The listener reports each precisely, never hands out a partial frame, and an
/// established frontend on another connection keeps exchanging frames intact.
/// </summary>
public class ResetTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_reset_in_the_middle_of_the_handshake_is_refused_as_PeerClosed()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);
        var refused = listener.NextFailure();

        // A real ClientHello, the backend's answer (ServerHello onwards), then a reset instead of the client's Finished.
        using var peer = await HostilePeer.ConnectAsync(listener.LocalEndPoint, ct);
        await peer.SendAsync(HostilePeer.ClientHello(), ct);
        var answer = await peer.ReceiveAtLeastAsync(6, ct);
        Assert.Equal(0x02, answer[5]);
        peer.Reset();

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.PeerClosed, "closed the connection during the TLS handshake");
        Assert.Contains("Connection reset by peer", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, listener.HandshakesFailed);
        await witness.AssertStillExchangingAsync();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_that_resets_in_the_middle_of_a_frame_fails_the_read_with_a_reset_and_no_partial_frame()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);

        await using var hostile = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        var frames = hostile.Server.CreateFrameReader();
        var stream = FrameFeed.Serialize([[1, 2, 3], TestData.Bytes(100_000, seed: 6)]);
        await hostile.Client.Output.WriteAsync(stream.AsMemory(0, stream.Length - 40_000), ct);
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(new byte[] { 1, 2, 3 }, frames.Current.ToArray());

        // The backend waits for the rest of the second frame; the frontend resets instead of sending it.
        var next = frames.ReadFrameAsync(ct).AsTask();
        hostile.Client.Abort("the hostile frontend resets mid-frame");

        var error = await Assert.ThrowsAsync<ConnectionResetException>(() => next.Guarded(ct));
        Assert.Contains("reset the connection", error.Message, StringComparison.Ordinal);
        Assert.True(frames.Current.IsEmpty);
        await witness.AssertStillExchangingAsync();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_authenticated_frontend_announcing_a_frame_above_the_maximum_is_cut_off_and_others_carry_on()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);

        await using var hostile = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        var frames = hostile.Server.CreateFrameReader();
        await hostile.Client.Output.WriteAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff, 1, 2, 3 }, ct); // 2 GiB announced

        var error = await Assert.ThrowsAsync<FrameTooLargeException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(0x7fffffffL, error.Length);
        Assert.Equal(FrameFormat.DefaultMaxFrameSize, error.MaxFrameSize);
        await Assert.ThrowsAsync<ConnectionResetException>(() => hostile.Client.Input.ReadToEndAsync(ct).Guarded(ct));
        await witness.AssertStillExchangingAsync();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_authenticated_frontend_that_ends_mid_frame_is_reported_truncated_and_others_carry_on()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);

        await using var hostile = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        var frames = hostile.Server.CreateFrameReader();
        var stream = FrameFeed.Serialize([[9], TestData.Bytes(5_000, seed: 7)]);
        await hostile.Client.Output.WriteAsync(stream.AsMemory(0, stream.Length - 1), ct);
        await hostile.Client.Output.CompleteAsync(); // close_notify and FIN after 5,004 of 5,005 bytes

        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        var error = await Assert.ThrowsAsync<TruncatedFrameException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(5_003, error.Received);
        Assert.Equal(5_004, error.Expected);
        Assert.True(frames.Current.IsEmpty);
        await witness.AssertStillExchangingAsync();
    }
}
