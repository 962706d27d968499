using System.Buffers;
using System.Text;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Connections;

/// <summary>
/// Connections end before their certificates do: real TLS connections on a fake clock drain DrainGrace before the
/// earlier expiry of their two leaves (jittered, never past it), when their peer's root leaves the trust bundle, and
/// at MaxConnectionAge; then the transport closes them itself, gracefully, losing nothing already flushed.
/// </summary>
public sealed class ConnectionLifetimeTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connection_drains_DrainGrace_before_the_earlier_leaf_expires_then_the_transport_closes_it_gracefully_losing_nothing_flushed()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = Issuers.ClockAtRealNow();
        var pki = TestPki.Create();
        var expiry = time.GetUtcNow().AddMinutes(10);
        var frontend = pki.Frontend(spec => spec with { NotAfter = expiry });
        using var logs = new LogCapture();
        await using var listener = Loopback.ListenTls(pki, o => { o.Environment = new TransportEnvironment { TimeProvider = time, LoggerFactory = logs }; o.DrainGrace = Grace; o.Socket = Loopback.Patient(); });
        var client = Loopback.TlsClient(pki, frontend);
        client.Environment = client.Environment with { TimeProvider = time };
        client.DrainGrace = Grace;
        client.Socket = Loopback.Patient();
        await using var link = await Link.ConnectAsync(listener, client, ct);

        // Both sides bound the connection by the frontend's leaf (the earlier of the two), jittered up to 10 % earlier.
        var certificateExpiry = new DateTimeOffset(frontend.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        foreach (var side in new[] { link.Client, link.Server })
        {
            Assert.NotNull(side.ClosesAt);
            Assert.InRange(side.ClosesAt!.Value, certificateExpiry - ((certificateExpiry - time.GetUtcNow()) * 0.1) - TimeSpan.FromSeconds(1), certificateExpiry);
            Assert.Equal(ConnectionDrainReason.None, side.DrainReason);
        }

        var (first, second) = link.Client.ClosesAt <= link.Server.ClosesAt ? (link.Client, link.Server) : (link.Server, link.Client);
        time.Advance(first.ClosesAt!.Value - Grace - time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.False(first.DrainRequested.IsCancellationRequested, "The drain started before DrainGrace ahead of the bound.");
        await link.PingAsync("before the drain", ct);

        time.Advance(TimeSpan.FromSeconds(1));
        await first.DrainRequested.WhenCanceled().Within("the drain of the connection whose bound came first", ct);
        Assert.Equal(first == link.Server ? ConnectionDrainReason.PeerCertificateExpiry : ConnectionDrainReason.LocalCertificateExpiry, first.DrainReason);
        await link.PingAsync("while draining", ct);

        // The application flushes a last frame and does not close: at the bound, the transport does, and the frame arrives.
        await first.Output.WriteFrameAsync(Encoding.UTF8.GetBytes("last words"), ct);
        time.Advance(first.ClosesAt!.Value - time.GetUtcNow());
        var drained = await Assert.ThrowsAsync<ConnectionDrainedException>(() => first.Output.WriteFrameAsync(Encoding.UTF8.GetBytes("too late"), ct).AsTask());
        Assert.Contains("at its lifetime bound", drained.Message, StringComparison.Ordinal);

        var reader = link.ReaderOf(second);
        Assert.True(await reader.ReadFrameAsync(ct).AsTask().Within("the frame flushed before the transport's close", ct));
        Assert.Equal("last words", Encoding.UTF8.GetString(reader.Current.ToArray()));

        // close_notify, then FIN: the peer's input ends cleanly (not cut, not reset).
        Assert.False(await reader.ReadFrameAsync(ct).AsTask().Within("the end of the closed connection's stream", ct));
        await second.Output.CompleteAsync();
        await first.ConnectionClosed.WhenCanceled().Within("the closed connection to finish both ways", ct);
        if (first == link.Server)
        {
            Assert.Contains(logs.Lines, l => l.EventId == 6 && l.Message.Contains("PeerCertificateExpiry", StringComparison.Ordinal));
            Assert.Contains(logs.Lines, l => l.EventId == 7);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Certificate_bounds_are_spread_up_to_10_percent_earlier_and_never_past_the_expiry()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = Issuers.ClockAtRealNow();
        var pki = TestPki.Create();
        var backend = pki.Backend(spec => spec with { NotAfter = time.GetUtcNow().AddHours(1) });
        await using var listener = Loopback.ListenTls(pki, o => o.Environment = new TransportEnvironment { TimeProvider = time }, backend);
        var client = Loopback.TlsClient(pki);
        client.Environment = client.Environment with { TimeProvider = time };
        var expiry = backend.NotAfter;
        var bounds = new List<DateTimeOffset>();
        for (var i = 0; i < 12; i++)
        {
            await using var link = await Link.ConnectAsync(listener, client, ct);
            bounds.Add(link.Server.ClosesAt!.Value);
            bounds.Add(link.Client.ClosesAt!.Value);
        }

        var remaining = expiry - time.GetUtcNow();
        Assert.All(bounds, b => Assert.InRange(b, expiry - (remaining * 0.1), expiry));
        Assert.True(bounds.Distinct().Count() > 12, $"24 bounds, {bounds.Distinct().Count()} distinct: the jitter does not spread them.");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task MaxConnectionAge_drains_within_10_percent_of_the_age_with_the_grace_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var age = TimeSpan.FromSeconds(100);
        var options = Loopback.PlaintextServer();
        options.Environment = options.Environment with { TimeProvider = time };
        options.MaxConnectionAge = age;
        options.DrainGrace = TimeSpan.FromSeconds(10);
        await using var listener = Loopback.Listen(options);
        var opened = time.GetUtcNow();
        var links = new List<(TransportConnection Client, TransportConnection Server)>();
        for (var i = 0; i < 12; i++)
        {
            links.Add(await Loopback.ConnectAsync(listener, cancellationToken: ct));
        }

        try
        {
            Assert.All(links, l => Assert.InRange(l.Server.ClosesAt!.Value - opened, (age * 0.9) + options.DrainGrace, (age * 1.1) + options.DrainGrace));
            Assert.True(links.Select(l => l.Server.ClosesAt).Distinct().Count() > 1, "12 connections opened together would all drain at once.");

            // The frontend has no MaxConnectionAge and plaintext has no certificate: nothing bounds its side.
            Assert.All(links, l => Assert.Null(l.Client.ClosesAt));

            time.Advance((age * 0.9) - TimeSpan.FromSeconds(1));
            Assert.All(links, l => Assert.False(l.Server.DrainRequested.IsCancellationRequested));
            time.Advance((age * 0.2) + TimeSpan.FromSeconds(2));
            foreach (var (_, server) in links)
            {
                await server.DrainRequested.WhenCanceled().Within("every connection to drain by 110 % of MaxConnectionAge", ct);
                Assert.Equal(ConnectionDrainReason.MaxConnectionAge, server.DrainReason);
            }

            // An application that ends each connection when asked: the transport never has to.
            foreach (var (client, server) in links)
            {
                await server.Output.CompleteAsync();
                await client.Output.CompleteAsync();
                await server.ConnectionClosed.WhenCanceled().Within("the drained connection to close", ct);
            }
        }
        finally
        {
            foreach (var (client, server) in links)
            {
                await client.DisposeAsync();
                await server.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connection_whose_peer_root_is_retired_by_the_handover_drains_before_the_root_leaves()
    {
        var ct = TestContext.Current.CancellationToken;
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        using var backend = TrustFolders.Open(r1.Backend());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend.Source, DrainGrace = Grace, Environment = new TransportEnvironment { TimeProvider = backend.Time } });
        var client = new TransportConnectorOptions { Certificates = new StaticCertificateSource(r1.Frontend()), ServerIdentity = "localhost", Environment = new TransportEnvironment { TimeProvider = backend.Time } };
        await using var link = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(r1.Root.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), link.Server.Security.PeerCertificate!.Root!.Thumbprint);
        var leafBound = link.Server.ClosesAt!.Value;

        // An abrupt CA switch: the backend trusts root 2 at once, switches after RootHandover, keeps root 1 for another
        // RootHandover. From the start, the handover says when root 1 leaves; the connection's bound moves there (up to
        // 10 % of the wait earlier), well before its leaves'.
        backend.WriteSecret(r2.Backend());
        await backend.PollAsync();
        var started = backend.Time.GetUtcNow();
        var retiring = Assert.Single(backend.Source.Handover!.RetiringRoots);
        Assert.Equal(r1.Root.Thumbprint, retiring.Thumbprint);
        var closesAt = link.Server.ClosesAt!.Value;
        Assert.True(closesAt < leafBound);
        Assert.InRange(closesAt, retiring.TrustedUntil - ((retiring.TrustedUntil - started) * 0.1), retiring.TrustedUntil);

        // The switch changes nothing for it: root 1 leaves at the same time.
        await backend.AdvanceAsync(backend.Source.Handover!.SwitchAt!.Value - backend.Time.GetUtcNow());
        Assert.Equal(retiring.TrustedUntil, Assert.Single(backend.Source.Handover!.RetiringRoots).TrustedUntil);
        Assert.Equal(closesAt, link.Server.ClosesAt);
        Assert.False(link.Server.DrainRequested.IsCancellationRequested);
        await backend.AdvanceAsync(closesAt - Grace - backend.Time.GetUtcNow());
        await link.Server.DrainRequested.WhenCanceled().Within("the drain before root 1 leaves the trust bundle", ct);
        Assert.Equal(ConnectionDrainReason.PeerRootRemoved, link.Server.DrainReason);
        await link.PingAsync("draining, root 1 still trusted", ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_root_removed_at_once_drains_its_connections_at_once_with_the_grace()
    {
        var ct = TestContext.Current.CancellationToken;
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        using var backend = TrustFolders.Open(r1.Backend(), handover: TimeSpan.Zero);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend.Source, DrainGrace = Grace, Environment = new TransportEnvironment { TimeProvider = backend.Time } });
        var client = new TransportConnectorOptions { Certificates = new StaticCertificateSource(r1.Frontend()), ServerIdentity = "localhost", Environment = new TransportEnvironment { TimeProvider = backend.Time } };
        await using var link = await Link.ConnectAsync(listener, client, ct);

        backend.WriteSecret(r2.Backend());
        await backend.PollAsync();
        Assert.DoesNotContain(r1.Root.Thumbprint, backend.Trusted());
        await link.Server.DrainRequested.WhenCanceled().Within("the drain once root 1 left the trust bundle", ct);
        Assert.Equal(ConnectionDrainReason.PeerRootRemoved, link.Server.DrainReason);
        Assert.Equal(backend.Time.GetUtcNow() + Grace, link.Server.ClosesAt);
    }

    [Fact]
    public void Lifetime_options_out_of_range_are_refused_with_the_field_named()
    {
        var pki = TestPki.Create();
        var age = Assert.Throws<ArgumentException>(() => TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = new StaticCertificateSource(pki.Backend()), MaxConnectionAge = TimeSpan.Zero }));
        Assert.Contains("MaxConnectionAge is 00:00:00; it must be positive, or Timeout.InfiniteTimeSpan", age.Message, StringComparison.Ordinal);
        var grace = Assert.Throws<ArgumentException>(() => new TransportConnector(new TransportConnectorOptions { Certificates = new StaticCertificateSource(pki.Frontend()), DrainGrace = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("DrainGrace is -00:00:01; it must be zero or more", grace.Message, StringComparison.Ordinal);
    }
}
