using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Hostile;

/// <summary>
/// Peers that send the TLS listener bytes no TLS library would: noise, cut records, lengths TLS forbids, a
/// ClientHello swollen with extensions. Each is refused for its own reason, with the alert TLS prescribes where
/// one applies, while a well-behaved frontend on another connection keeps exchanging frames intact.
/// </summary>
public class MalformedHandshakeTests
{
    // Fatal alerts (RFC 8446, 6.2) as the listener sends them: unexpected_message, record_overflow, decode_error.
    private static readonly byte[] UnexpectedMessage = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a];
    private static readonly byte[] RecordOverflow = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x16];
    private static readonly byte[] DecodeError = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Random_bytes_instead_of_a_ClientHello_are_refused_as_plaintext_with_an_unexpected_message_alert()
    {
        var noise = Noise(300, seed: 1);
        noise[0] = 0x47; // anything but 0x16, a handshake record
        var (error, reply) = await AttackAsync(peer => peer.SendAsync(noise, Ct), readReply: true);

        var mismatch = Assert.IsType<EncryptionMismatchException>(error);
        Assert.Equal(HandshakeFailureReason.PlaintextPeer, mismatch.Reason);
        Assert.Contains("sent 0x47, which cannot start a TLS handshake", mismatch.Message, StringComparison.Ordinal);
        Assert.Equal(UnexpectedMessage, reply);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Random_bytes_after_a_handshake_record_type_are_refused_as_malformed_with_a_decode_error_alert()
    {
        var noise = Noise(300, seed: 2);
        noise[0] = 0x16;
        noise[1] = 0x7f; // not TLS's 0x03 major version...
        noise[3] = 0x01; // ...with a length TLS allows
        noise[4] = 0x00;
        var (error, reply) = await AttackAsync(peer => peer.SendAsync(noise, Ct), readReply: true);

        Refusals.AssertHandshake(error, HandshakeFailureReason.MalformedHandshake, "announcing 256 bytes (version 0x7f");
        Assert.Equal(DecodeError, reply);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_well_framed_record_of_garbage_is_refused_as_malformed()
    {
        byte[] garbage = [.. HostilePeer.RecordHeader(0x16, 256), .. Noise(256, seed: 3)];
        garbage[5] = 0x01; // a ClientHello's type, then nonsense lengths
        var (error, _) = await AttackAsync(peer => peer.SendAsync(garbage, Ct), readReply: true);

        var handshake = Assert.IsAssignableFrom<HandshakeException>(error);
        Assert.True(handshake.Reason == HandshakeFailureReason.MalformedHandshake, $"{handshake.Reason}: {handshake.Message}");
        Assert.Contains("sent a malformed TLS handshake", handshake.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_record_cut_short_by_the_peers_close_is_refused_as_PeerClosed()
    {
        var hello = HostilePeer.ClientHello();
        var (error, reply) = await AttackAsync(
            async peer =>
            {
                await peer.SendAsync(hello.AsMemory(0, 60), Ct); // the header announces more than this
                peer.SendFin();
            },
            readReply: true);

        Refusals.AssertHandshake(error, HandshakeFailureReason.PeerClosed, "closed the connection during the TLS handshake");
        Assert.Contains("unexpected EOF", error.Message, StringComparison.Ordinal);
        Assert.Empty(reply);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_record_length_above_the_TLS_maximum_is_refused_at_once_with_a_record_overflow_alert()
    {
        // Without the check SslStream would wait for 64 KiB of a record that can never be valid, until the timeout.
        byte[] header = [.. HostilePeer.RecordHeader(0x16, 0xffff), .. Noise(100, seed: 4)];
        var (error, reply) = await AttackAsync(peer => peer.SendAsync(header, Ct), readReply: true);

        Refusals.AssertHandshake(error, HandshakeFailureReason.MalformedHandshake, "sent a TLS record header announcing 65535 bytes (version 0x0301); a handshake record holds 1 to 16384");
        Assert.Equal(RecordOverflow, reply);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_ClientHello_with_a_64_KB_extension_block_is_answered_and_costs_nothing_more()
    {
        // 65,000 bytes of one unknown extension: TLS allows it (it spans four records), so the backend must parse
        // it, ignore the extension and answer with its ServerHello. The peer then leaves.
        var hello = HostilePeer.ClientHello(bulkLength: 65_000);
        Assert.True(hello.Length > 65_000);
        byte[] answer = [];
        var (error, _) = await AttackAsync(
            async peer =>
            {
                await peer.SendAsync(hello, Ct);
                answer = await peer.ReceiveAtLeastAsync(6, Ct);
                peer.SendFin();
            },
            readReply: false);

        Assert.Equal(new byte[] { 0x16, 0x03, 0x03 }, answer[..3]); // a handshake record...
        Assert.Equal(0x02, answer[5]);                                // ...holding a ServerHello
        Refusals.AssertHandshake(error, HandshakeFailureReason.PeerClosed, "closed the connection during the TLS handshake");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_ClientHello_announcing_16_MB_is_refused_as_malformed_without_waiting_for_it()
    {
        // A handshake message length of 2^24 - 1: OpenSSL caps a ClientHello far below that.
        byte[] start = [.. HostilePeer.Records(0x16, [0x01, 0xff, 0xff, 0xff]), .. HostilePeer.Records(0x16, new byte[60_000])];
        var (error, reply) = await AttackAsync(peer => peer.SendAsync(start, Ct), readReply: true);

        Refusals.AssertHandshake(error, HandshakeFailureReason.MalformedHandshake, "excessive message size");
        Assert.Equal(new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2f }, reply); // OpenSSL's illegal_parameter alert
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Runs one attack against a TLS listener while a witness exchanges frames on another connection; returns
    /// the listener's refusal and, when asked, everything the listener sent the attacker before closing.
    /// </summary>
    private static async Task<(HandshakeException Error, byte[] Reply)> AttackAsync(Func<HostilePeer, Task> attack, bool readReply)
    {
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), Ct);
        var refused = listener.NextFailure();

        using var peer = await HostilePeer.ConnectAsync(listener.LocalEndPoint, Ct);
        await attack(peer);
        var reply = readReply ? await peer.ReadUntilClosedAsync(Ct) : [];
        var failure = await refused.WaitAsync(Refusals.HangGuard, Ct);

        Assert.Equal(1, listener.HandshakesFailed);
        Assert.Equal(peer.Socket.LocalEndPoint?.ToString(), failure.RemoteEndPoint?.ToString());
        await witness.AssertStillExchangingAsync();
        return (failure.Error, reply);
    }
}
