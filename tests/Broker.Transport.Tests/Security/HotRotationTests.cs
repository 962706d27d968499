using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// The embedded issuer's sources behind a real listener and connector: after a rotation, new handshakes
/// present the new leaves on both sides, and connections opened before keep working with theirs.
/// </summary>
public class HotRotationTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_RenewNow_new_connections_see_the_new_leaves_and_old_ones_keep_exchanging_frames()
    {
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        var client = Client(issuer);

        await using var before = await Link.ConnectAsync(listener, client, ct);
        var oldBackend = issuer.BackendSide.Leaf!.Thumbprint;
        var oldFrontend = issuer.FrontendSide.Leaf!.Thumbprint;
        Assert.Equal(oldBackend, before.BackendSeenByClient);
        Assert.Equal(oldFrontend, before.FrontendSeenByServer);
        await before.PingAsync("before", ct);

        issuer.RenewNow();
        Assert.NotEqual(oldBackend, issuer.BackendSide.Leaf!.Thumbprint);
        Assert.NotEqual(oldFrontend, issuer.FrontendSide.Leaf!.Thumbprint);

        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, after.BackendSeenByClient);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, after.FrontendSeenByServer);
        Assert.True(after.Client.Security.LocalCertificateVersion > before.Client.Security.LocalCertificateVersion);
        Assert.True(after.Server.Security.LocalCertificateVersion > before.Server.Security.LocalCertificateVersion);
        await after.PingAsync("after", ct);

        // The connection opened before the rotation still has the old leaves and still carries frames.
        Assert.Equal(oldBackend, before.BackendSeenByClient);
        for (var i = 0; i < 5; i++)
        {
            await before.PingAsync($"still there {i}", ct);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_RollOverRootNow_new_connections_see_leaves_from_the_new_root_and_old_ones_keep_exchanging_frames()
    {
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        var client = Client(issuer);
        var firstRoot = issuer.Root;

        await using var before = await Link.ConnectAsync(listener, client, ct);
        issuer.RollOverRootNow();
        Assert.NotEqual(firstRoot.Thumbprint, issuer.Root.Thumbprint);
        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, after.BackendSeenByClient);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, after.FrontendSeenByServer);
        Assert.Equal(issuer.Root.Subject, after.Client.Security.PeerCertificate!.Certificate.Issuer);
        Assert.True(Issuers.ChainsTo(after.Client.Security.PeerCertificate.Certificate, [issuer.Root], DateTimeOffset.UtcNow));
        Assert.True(Issuers.ChainsTo(after.Server.Security.PeerCertificate!.Certificate, [issuer.Root], DateTimeOffset.UtcNow));
        Assert.True(Issuers.ChainsTo(before.Server.Security.PeerCertificate!.Certificate, [firstRoot], DateTimeOffset.UtcNow));

        // A second rollover: three roots trusted, the connections of both earlier generations still work.
        issuer.RollOverRootNow();
        Assert.Equal(3, issuer.TrustBundle.Count);
        await using var third = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, third.BackendSeenByClient);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, third.FrontendSeenByServer);
        await before.PingAsync("generation 1", ct);
        await after.PingAsync("generation 2", ct);
        await third.PingAsync("generation 3", ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_scheduled_renewal_on_a_fake_clock_started_now_reaches_new_handshakes()
    {
        // Only time is fake. It starts two minutes behind the real clock, so the leaf renewed one fake minute
        // later is already valid for SslStream, which checks dates against the real clock.
        var ct = TestContext.Current.CancellationToken;
        var time = Issuers.ClockAtRealNow(behind: TimeSpan.FromMinutes(2));
        using var issuer = Issuers.Start(time, TimeSpan.FromHours(1), TimeSpan.FromMinutes(59));
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        var client = Client(issuer);
        await using var before = await Link.ConnectAsync(listener, client, ct);
        var old = before.BackendSeenByClient;

        // renewBefore 59m: the renewal is due one minute after issuance.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.NotEqual(old, issuer.BackendSide.Leaf!.Thumbprint);
        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, after.BackendSeenByClient);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, after.FrontendSeenByServer);
        await before.PingAsync("old", ct);
        await after.PingAsync("new", ct);
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData("RenewNow")]
    [InlineData("RollOverRootNow")]
    public async Task A_handshake_in_flight_across_a_rotation_succeeds(string rotation)
    {
        // The frontend takes its credentials, then sends its ClientHello; the relay holds it while the issuer
        // rotates; the backend then takes the new credentials. After a root rollover the backend presents a
        // leaf from a root the frontend's credentials of a moment ago did not hold yet.
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        relay.BeforeClientHello = async () =>
        {
            held.TrySetResult();
            await release.Task;
        };

        var frontendBefore = issuer.FrontendSide.Leaf!.Thumbprint;
        var connecting = Link.ConnectAsync(listener, Client(issuer), ct, relay.LocalEndPoint);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        if (rotation == "RenewNow")
        {
            issuer.RenewNow();
        }
        else
        {
            issuer.RollOverRootNow();
        }

        release.SetResult();
        await using var link = await connecting.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, link.BackendSeenByClient);
        Assert.Equal(frontendBefore, link.FrontendSeenByServer);
        await link.PingAsync("across the rotation", ct);
        Assert.Equal(0, listener.HandshakesFailed);
    }

    private static TransportConnectorOptions Client(InternalIssuer issuer) => new() { Certificates = issuer.Frontend, ServerIdentity = "localhost" };
}
