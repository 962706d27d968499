using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>One side Enabled, the other Disabled: both sides say so, and nothing is downgraded.</summary>
public class EncryptionMismatchTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_plaintext_frontend_meets_a_TLS_backend_and_both_name_the_mismatch()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        // Plaintext has no handshake: the connect works, and the mismatch shows once bytes flow.
        await using var client = await new TransportConnector(Loopback.PlaintextClient()).ConnectAsync(listener.LocalEndPoint, ct);
        await client.Output.WriteFrameAsync("plant-7/line-3/press-12/temperature"u8.ToArray(), ct);
        var clientError = await Record.ExceptionAsync(async () =>
        {
            var result = await client.Input.ReadAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
            Assert.Fail($"The plaintext client read {result.Buffer.Length} bytes (completed: {result.IsCompleted}).");
        });

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.PlaintextPeer, "it is probably running with encryptInternalTraffic Disabled while this backend has it Enabled");
        Assert.IsType<EncryptionMismatchException>(error);
        Assert.Contains("sent 0x00", error.Message, StringComparison.Ordinal); // the frame's length prefix
        var mismatch = Assert.IsType<EncryptionMismatchException>(clientError);
        Assert.Equal(HandshakeFailureReason.TlsPeer, mismatch.Reason);
        Assert.Contains("it sent a TLS alert", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains("the peer is probably running with encryptInternalTraffic Enabled", mismatch.Message, StringComparison.Ordinal);
        Assert.Equal(1, listener.HandshakesFailed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_frontend_meets_a_plaintext_backend_and_both_name_the_mismatch()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.Listen();
        var connect = Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), listener.LocalEndPoint);

        // A plaintext backend has no handshake either: it hands the connection out, and its first read names the ClientHello.
        await using var server = await listener.AcceptAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
        Assert.NotNull(server);
        var serverError = await Record.ExceptionAsync(async () =>
        {
            var result = await server.Input.ReadAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
            Assert.Fail($"The plaintext backend read {result.Buffer.Length} bytes (completed: {result.IsCompleted}).");
        });

        var mismatch = Assert.IsType<EncryptionMismatchException>(serverError);
        Assert.Equal(HandshakeFailureReason.TlsPeer, mismatch.Reason);
        Assert.Contains("it sent a TLS handshake record, such as a ClientHello", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains("while this side runs with encryptInternalTraffic Disabled", mismatch.Message, StringComparison.Ordinal);

        var clientError = await connect;
        Refusals.AssertHandshake(clientError, HandshakeFailureReason.PeerClosed, "If it runs with encryptInternalTraffic Disabled, it closes every TLS connection at once");
    }
}
