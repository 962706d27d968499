using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Hosting.Tests.Support;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Hosting.Tests.Diagnostics;

/// <summary>Events and measurements of real handshakes and connections over loopback.</summary>
public class ConnectionTelemetryTests
{
    private const string Side = "broker.transport.side";
    private const string Outcome = "broker.transport.handshake.outcome";
    private const string Reason = "broker.transport.handshake.reason";
    private const string Encryption = "broker.transport.encryption";

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_connection_logs_its_opening_and_closing_and_is_measured_on_both_sides()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var handshakes = telemetry.Collect<long>("broker.transport.handshakes");
        using var durations = telemetry.Collect<double>("broker.transport.handshake.duration");
        using var opened = telemetry.Collect<long>("broker.transport.connections.opened");
        using var active = telemetry.Collect<long>("broker.transport.connections.active");
        using var sent = telemetry.Collect<long>("broker.transport.bytes.sent");
        using var received = telemetry.Collect<long>("broker.transport.bytes.received");
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => Observe(o, telemetry));
        var client = Loopback.TlsClient(pki);
        client.Environment = client.Environment with { LoggerFactory = telemetry.Loggers };
        client.Environment = client.Environment with { MeterFactory = telemetry.Meters };

        var (frontend, backend) = await Loopback.ConnectAsync(listener, client, ct).Guarded(ct);
        Assert.Equal(1, active.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "enabled")));
        Assert.Equal(1, active.GetMeasurementSnapshot().Sum((Side, "frontend"), (Encryption, "enabled")));
        var payload = new byte[1000];
        await frontend.Output.WriteFrameAsync(payload, ct);
        await frontend.Output.CompleteAsync();
        var frames = backend.CreateFrameReader();
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(1000, frames.Current.Length);
        // While open: read from the live connection. The frontend's send loop adds the count once its socket
        // write returns, which can be a moment after the backend already read the frame, so poll (bounded).
        var sentWhileOpen = 0L;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); sentWhileOpen != 1004 && DateTime.UtcNow < deadline; await Task.Delay(10, ct))
        {
            sent.RecordObservableInstruments();
            sentWhileOpen = sent.GetMeasurementSnapshot(clear: true).Sum((Side, "frontend"), (Encryption, "enabled"));
        }

        Assert.Equal(1004, sentWhileOpen);
        Assert.False(await frames.ReadFrameAsync(ct).Guarded(ct));
        await backend.Output.WriteFrameAsync(new byte[10], ct);
        await backend.Output.CompleteAsync();
        var replies = frontend.CreateFrameReader();
        Assert.True(await replies.ReadFrameAsync(ct).Guarded(ct));
        Assert.False(await replies.ReadFrameAsync(ct).Guarded(ct));

        // Both directions ended, so both connections count as closed; their bytes stay in the totals.
        sent.RecordObservableInstruments();
        received.RecordObservableInstruments();
        Assert.Equal(1004, sent.GetMeasurementSnapshot().Sum((Side, "frontend"), (Encryption, "enabled")));
        Assert.Equal(1004, received.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "enabled")));
        Assert.Equal(14, received.GetMeasurementSnapshot().Sum((Side, "frontend"), (Encryption, "enabled")));

        await backend.DisposeAsync();
        await frontend.DisposeAsync();
        var closed = await telemetry.EventsAsync(2, count: 2);

        var accepted = Assert.Single(telemetry.Events(1));
        Assert.Equal(backend.ConnectionId, accepted.State("ConnectionId"));
        Assert.Equal(LogLevel.Information, accepted.Level);
        Assert.Equal("ConnectionAccepted", accepted.Id.Name);
        var openedEvent = Assert.Single(telemetry.Events(4));
        Assert.Equal(frontend.ConnectionId, openedEvent.State("ConnectionId"));
        Assert.Equal(listener.LocalEndPoint.ToString(), openedEvent.State("RemoteEndPoint"));
        Assert.Equal(2, closed.Count);
        var backendClosed = Assert.Single(closed, r => r.State("ConnectionId") == backend.ConnectionId);
        Assert.Equal("1004", backendClosed.State("BytesReceived"));
        Assert.Equal("14", backendClosed.State("BytesSent"));
        var frontendClosed = Assert.Single(closed, r => r.State("ConnectionId") == frontend.ConnectionId);
        Assert.Equal("1004", frontendClosed.State("BytesSent"));
        Assert.True(double.Parse(frontendClosed.State("DurationSeconds")!, System.Globalization.CultureInfo.InvariantCulture) >= 0);
        Assert.Null(frontendClosed.Exception);

        Assert.Equal(1, handshakes.GetMeasurementSnapshot().Sum((Side, "backend"), (Outcome, "success")));
        Assert.Equal(1, handshakes.GetMeasurementSnapshot().Sum((Side, "frontend"), (Outcome, "success")));
        Assert.Equal(2, durations.GetMeasurementSnapshot().Count);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.True(m.Value > 0));
        Assert.Equal(1, opened.GetMeasurementSnapshot().Sum((Side, "frontend"), (Encryption, "enabled")));
        Assert.Equal(1, opened.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "enabled")));
        Assert.Equal(0, active.GetMeasurementSnapshot().Sum((Side, "backend")));
        Assert.Equal(0, active.GetMeasurementSnapshot().Sum((Side, "frontend")));

        // Closed: the totals stay, counted once.
        sent.Clear();
        sent.RecordObservableInstruments();
        Assert.Equal(1004, sent.GetMeasurementSnapshot().Sum((Side, "frontend"), (Encryption, "enabled")));
        Assert.Equal(14, sent.GetMeasurementSnapshot().Sum((Side, "backend")));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_from_another_CA_is_refused_logged_with_its_reason_and_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var handshakes = telemetry.Collect<long>("broker.transport.handshakes");
        var pki = TestPki.Create();
        var stranger = TestPki.Create("Some Other CA");
        await using var listener = Loopback.ListenTls(pki, o => Observe(o, telemetry));

        try
        {
            await using var client = await new TransportConnector(Loopback.TlsClient(pki, TrustingOnly(stranger.Frontend(), pki))).ConnectAsync(listener.LocalEndPoint, ct);
            await client.Input.ReadAsync(ct);
        }
        catch (HandshakeException)
        {
            // TLS 1.3: the frontend learns of it in its handshake or at its first read; the backend's record is what counts here.
        }

        var refused = Assert.Single(await telemetry.EventsAsync(3));
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Equal(nameof(HandshakeFailureReason.UntrustedChain), refused.State("Reason"));
        Assert.Contains("does not chain to the internal trust bundle", refused.State("Detail"), StringComparison.Ordinal);
        await WaitForAsync(() => handshakes.GetMeasurementSnapshot().Count >= 1);
        var failure = Assert.Single(handshakes.GetMeasurementSnapshot());
        Assert.Equal("backend", failure.Tags[Side]);
        Assert.Equal("failure", failure.Tags[Outcome]);
        Assert.Equal("untrusted_chain", failure.Tags[Reason]);
        Assert.Empty(telemetry.Events(1));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_refusing_the_backends_identity_logs_and_counts_its_failed_handshake()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var handshakes = telemetry.Collect<long>("broker.transport.handshakes");
        using var durations = telemetry.Collect<double>("broker.transport.handshake.duration");
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var options = Loopback.TlsClient(pki, serverIdentity: "backend.elsewhere.svc");
        options.Environment = options.Environment with { LoggerFactory = telemetry.Loggers };
        options.Environment = options.Environment with { MeterFactory = telemetry.Meters };

        var error = await Assert.ThrowsAsync<HandshakeException>(async () => await new TransportConnector(options).ConnectAsync(listener.LocalEndPoint, ct));

        Assert.Equal(HandshakeFailureReason.IdentityNotAllowed, error.Reason);
        var failed = Assert.Single(telemetry.Events(5));
        Assert.Equal("HandshakeFailed", failed.Id.Name);
        Assert.Equal(nameof(HandshakeFailureReason.IdentityNotAllowed), failed.State("Reason"));
        Assert.Equal(error.Message, failed.State("Detail"));
        var counted = Assert.Single(handshakes.GetMeasurementSnapshot());
        Assert.Equal("identity_not_allowed", counted.Tags[Reason]);
        Assert.Equal("frontend", counted.Tags[Side]);
        Assert.Equal("identity_not_allowed", Assert.Single(durations.GetMeasurementSnapshot()).Tags[Reason]);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_plaintext_frontend_on_an_encrypted_listener_is_refused_as_a_plaintext_peer()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var handshakes = telemetry.Collect<long>("broker.transport.handshakes");
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => Observe(o, telemetry));

        await using (var client = await Loopback.Connector().ConnectAsync(listener.LocalEndPoint, ct))
        {
            await client.Output.WriteFrameAsync("hello"u8.ToArray(), ct);
            await Assert.ThrowsAsync<EncryptionMismatchException>(async () => await client.Input.ReadAsync(ct).AsTask().Guarded(ct));
        }

        var refused = Assert.Single(await telemetry.EventsAsync(3));
        Assert.Equal(nameof(HandshakeFailureReason.PlaintextPeer), refused.State("Reason"));
        await WaitForAsync(() => handshakes.GetMeasurementSnapshot().Count >= 1);
        Assert.Equal("plaintext_peer", Assert.Single(handshakes.GetMeasurementSnapshot()).Tags[Reason]);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_TLS_frontend_on_a_plaintext_listener_is_logged_as_a_TLS_peer_once_its_bytes_arrive()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var handshakes = telemetry.Collect<long>("broker.transport.handshakes");
        using var opened = telemetry.Collect<long>("broker.transport.connections.opened");
        var pki = TestPki.Create();
        var options = Loopback.PlaintextServer();
        Observe(options, telemetry);
        await using var listener = Loopback.Listen(options);

        var connecting = new TransportConnector(Loopback.TlsClient(pki)).ConnectAsync(listener.LocalEndPoint, ct).AsTask();
        await using var backend = await listener.AcceptAsync(ct).AsTask().Guarded(ct);
        Assert.NotNull(backend);
        await Assert.ThrowsAsync<EncryptionMismatchException>(async () => await backend.Input.ReadAsync(ct).AsTask().Guarded(ct));
        await Assert.ThrowsAnyAsync<HandshakeException>(() => connecting.Guarded(ct));

        var refused = Assert.Single(await telemetry.EventsAsync(3));
        Assert.Equal(nameof(HandshakeFailureReason.TlsPeer), refused.State("Reason"));
        Assert.Equal("tls_peer", Assert.Single(handshakes.GetMeasurementSnapshot()).Tags[Reason]);
        Assert.Equal(1, opened.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "disabled")));
        var closed = Assert.Single(await telemetry.EventsAsync(2));
        Assert.IsType<EncryptionMismatchException>(closed.Exception);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Expiry_gauges_report_the_seconds_left_of_the_leaf_and_of_the_root_that_signed_it()
    {
        using var telemetry = new Telemetry();
        var clock = Issuers.ClockAtRealNow();
        using var issuer = Issuers.Start(clock, TimeSpan.FromHours(240), caDuration: TimeSpan.FromHours(9000));
        using var leafGauge = telemetry.Collect<double>("broker.transport.certificate.leaf.expires_in");
        using var rootGauge = telemetry.Collect<double>("broker.transport.certificate.root.expires_in");
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend, Environment = new TransportEnvironment { MeterFactory = telemetry.Meters, TimeProvider = clock } });
        clock.Advance(TimeSpan.FromHours(40));

        leafGauge.RecordObservableInstruments();
        rootGauge.RecordObservableInstruments();

        Assert.Equal(TimeSpan.FromHours(200).TotalSeconds, Assert.Single(leafGauge.GetMeasurementSnapshot().With(("broker.transport.side", "backend"))).Value);
        Assert.Equal(TimeSpan.FromHours(8960).TotalSeconds, Assert.Single(rootGauge.GetMeasurementSnapshot().With(("broker.transport.side", "backend"))).Value);
    }

    /// <summary>The stranger's leaf, trusting the backend's CA: only the backend has reason to refuse.</summary>
    private static CertificateCredentials TrustingOnly(CertificateCredentials credentials, TestPki pki)
        => new(credentials.Certificate, credentials.Intermediates, pki.Bundle);

    [Fact(Timeout = 60_000)]
    public async Task A_stream_cut_without_close_notify_is_logged_as_truncated_at_Warning_and_counted_apart_from_a_clean_close()
    {
        var ct = TestContext.Current.CancellationToken;
        using var telemetry = new Telemetry();
        using var closed = telemetry.Collect<long>("broker.transport.connections.closed");
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => Observe(o, telemetry));

        foreach (var cut in new[] { true, false })
        {
            await using var raw = await RawTls.ConnectAsync(listener.LocalEndPoint, ct);
            await raw.AuthenticateAsync(pki, System.Security.Authentication.SslProtocols.Tls13, pki.Frontend().Certificate, ct).Guarded(ct);
            var server = await listener.AcceptAsync(ct).AsTask().Guarded(ct) ?? throw new InvalidOperationException("The listener closed.");
            await raw.Stream.WriteAsync(new byte[] { 0, 0, 0, 1, 42 }, ct);
            if (cut)
            {
                raw.SendFinWithoutCloseNotify();
            }
            else
            {
                await raw.CloseProperlyAsync();
            }

            // The backend reads to the end, then closes its side: the connection is finished both ways.
            var frames = server.CreateFrameReader();
            Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
            if (cut)
            {
                await Assert.ThrowsAsync<ConnectionTruncatedException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
            }
            else
            {
                Assert.False(await frames.ReadFrameAsync(ct).Guarded(ct));
            }

            await server.DisposeAsync();
        }

        var lines = await telemetry.EventsAsync(2, count: 2);
        Assert.Equal(2, lines.Count);
        var truncated = Assert.Single(lines, l => l.State("End") == "truncated");
        Assert.Equal(LogLevel.Warning, truncated.Level);
        Assert.Contains(" closed (truncated) after ", truncated.Message, StringComparison.Ordinal);
        Assert.IsType<ConnectionTruncatedException>(truncated.Exception);
        var clean = Assert.Single(lines, l => l.State("End") == "clean");
        Assert.Equal(LogLevel.Information, clean.Level);
        Assert.Null(clean.Exception);
        Assert.Equal(1, closed.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "enabled"), ("broker.transport.connection.end", "truncated")));
        Assert.Equal(1, closed.GetMeasurementSnapshot().Sum((Side, "backend"), (Encryption, "enabled"), ("broker.transport.connection.end", "clean")));
    }

    private static void Observe(TransportListenerOptions options, Telemetry telemetry)
    {
        options.Environment = options.Environment with { LoggerFactory = telemetry.Loggers };
        options.Environment = options.Environment with { MeterFactory = telemetry.Meters };
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Guard.HangTimeout;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }
}
