using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Certificates;

/// <summary>What the embedded issuer does when it cannot make a key, when it is disposed, and what it refuses at start.</summary>
public class InternalIssuerFailureTests
{
    [Fact]
    public void A_failed_renewal_keeps_the_current_leaf_and_retries_with_doubling_delays_capped_until_it_succeeds()
    {
        var time = Issuers.Clock();
        var options = Issuers.Options(time, TimeSpan.FromHours(1));
        options.RetryDelay = TimeSpan.FromSeconds(1);
        options.MaxRetryDelay = TimeSpan.FromSeconds(10);
        using var issuer = InternalIssuer.Start(options);
        var failing = true;
        var attempts = 0;
        issuer.KeyFactory = algorithm =>
        {
            attempts++;
            return failing ? throw new CryptographicException("The key store is unavailable.") : CertificateIssuance.CreateKey(algorithm);
        };

        var backend = issuer.Backend.GetCurrent();
        var frontend = issuer.Frontend.GetCurrent();
        var due = Issuers.Epoch.AddMinutes(40);

        // The renewal at 40m fails on both sides; then retries after 1, 2, 4, 8, 10, 10 s.
        var retries = new[] { 0, 1, 2, 4, 8, 10, 10 };
        var at = due;
        foreach (var wait in retries)
        {
            at = at.AddSeconds(wait);
            var before = attempts;
            time.SetUtcNow(at.AddSeconds(-1));
            Assert.Equal(before, attempts);
            time.SetUtcNow(at);
            Assert.Equal(before + 2, attempts);
            Assert.Same(backend, issuer.Backend.GetCurrent());
            Assert.Same(frontend, issuer.Frontend.GetCurrent());
        }

        // The key store is back: the next retry, 10 s later, renews both leaves then.
        failing = false;
        at = at.AddSeconds(10);
        time.SetUtcNow(at.AddSeconds(-1));
        Assert.Same(backend, issuer.Backend.GetCurrent());
        time.SetUtcNow(at);
        Assert.NotSame(backend, issuer.Backend.GetCurrent());
        Assert.NotSame(frontend, issuer.Frontend.GetCurrent());
        Assert.Equal(at, Issuers.NotBefore(issuer.Backend.GetCurrent().Certificate));
        Assert.Equal(at, Issuers.NotBefore(issuer.Frontend.GetCurrent().Certificate));

        // The schedule is back to normal (2/3 of the new leaf's life), and a new failure starts over at 1 s.
        Assert.Equal(at.AddMinutes(40), issuer.BackendSide.RenewAt);
        failing = true;
        var count = attempts;
        time.SetUtcNow(at.AddMinutes(40));
        Assert.Equal(count + 2, attempts);
        time.SetUtcNow(at.AddMinutes(40).AddSeconds(1));
        Assert.Equal(count + 4, attempts);
    }

    [Fact]
    public void A_failed_root_rollover_keeps_the_root_and_its_bundle_and_is_retried_with_doubling_delays()
    {
        // Never: the leaves keep their keys, so only the root asks the factory.
        var time = Issuers.Clock();
        var options = Issuers.Options(time, TimeSpan.FromHours(1), rotation: RotationPolicy.Never, caDuration: TimeSpan.FromHours(3));
        options.RetryDelay = TimeSpan.FromSeconds(30);
        options.MaxRetryDelay = TimeSpan.FromMinutes(2);
        using var issuer = InternalIssuer.Start(options);
        var root = issuer.Root;
        var failing = true;
        var attempts = 0;
        issuer.KeyFactory = algorithm =>
        {
            attempts++;
            return failing ? throw new CryptographicException("The key store is unavailable.") : CertificateIssuance.CreateKey(algorithm);
        };

        // Fails at its renewal time, then after 30 s, 60 s, 120 s and 120 s (capped): the root and its
        // bundle stay as they were throughout.
        var at = issuer.RootRenewalTime;
        foreach (var wait in new[] { 0, 30, 60, 120, 120 })
        {
            at = at.AddSeconds(wait);
            var before = attempts;
            time.SetUtcNow(at.AddSeconds(-1));
            Assert.Equal(before, attempts);
            time.SetUtcNow(at);
            Assert.Equal(before + 1, attempts);
            Assert.Equal(root.Thumbprint, issuer.Root.Thumbprint);
            Assert.Single(issuer.TrustBundle);
            Assert.True(Issuers.ChainsTo(issuer.BackendSide.Leaf!, [root], time.GetUtcNow()));
        }

        failing = false;
        time.SetUtcNow(at.AddSeconds(119));
        Assert.Equal(root.Thumbprint, issuer.Root.Thumbprint);
        time.SetUtcNow(at.AddSeconds(120));
        Assert.NotEqual(root.Thumbprint, issuer.Root.Thumbprint);
        Assert.Equal(2, issuer.Frontend.GetCurrent().TrustBundle.Count);
        Assert.True(Issuers.ChainsTo(issuer.BackendSide.Leaf!, [issuer.Root], time.GetUtcNow()));
    }

    [Fact]
    public void After_dispose_the_sources_refuse_with_a_clear_error_and_nothing_renews()
    {
        var time = Issuers.Clock();
        var issuer = Issuers.Start(time, TimeSpan.FromHours(1));
        var leaf = issuer.BackendSide.Leaf!;
        var changes = 0;
        issuer.Backend.CredentialsChanged += (_, _) => changes++;
        issuer.Dispose();

        var backend = Assert.Throws<CertificateUnavailableException>(() => issuer.Backend.GetCurrent());
        Assert.Contains("backend", backend.Message);
        Assert.Contains("disposed", backend.Message);
        var frontend = Assert.Throws<CertificateUnavailableException>(() => issuer.Frontend.GetCurrent());
        Assert.Contains("frontend", frontend.Message);
        Assert.Contains("disposed", frontend.Message);
        Assert.Throws<ObjectDisposedException>(issuer.RenewNow);
        Assert.Throws<ObjectDisposedException>(issuer.RollOverRootNow);

        time.Advance(TimeSpan.FromHours(5));
        Assert.Same(leaf, issuer.BackendSide.Leaf);
        Assert.Equal(0, changes);
        issuer.Dispose();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task After_dispose_a_handshake_is_refused_as_LocalCertificateUnavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        var refused = listener.NextFailure();
        // A copy of its own (the disposed issuer disposes its leaves, keys included).
        var frontend = new CertificateCredentials(new X509Certificate2(issuer.FrontendSide.Leaf!), null, issuer.TrustBundle);
        issuer.Dispose();

        // The frontend still has its certificate; the backend's source is gone.
        var connector = new TransportConnector(new TransportConnectorOptions { Certificates = new StaticCertificateSource(frontend), ServerIdentity = "localhost" });
        await Assert.ThrowsAsync<HandshakeException>(async () => await connector.ConnectAsync(listener.LocalEndPoint, ct));
        var failure = await refused.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(HandshakeFailureReason.LocalCertificateUnavailable, failure.Error.Reason);
        Assert.Contains("disposed", failure.Error.Message);

        // And the frontend side, with the disposed issuer's source, refuses before connecting anything.
        var disposedClient = new TransportConnector(new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = "localhost" });
        var error = await Assert.ThrowsAsync<HandshakeException>(async () => await disposedClient.ConnectAsync(listener.LocalEndPoint, ct));
        Assert.Equal(HandshakeFailureReason.LocalCertificateUnavailable, error.Reason);
        Assert.Contains("frontend", error.Message);
    }

    [Fact]
    public void Ed25519_is_refused_at_start_with_the_algorithms_that_work()
    {
        var options = new InternalIssuerOptions
        {
            Policy = new InternalCertsConfig(TimeSpan.FromHours(240), TimeSpan.FromMinutes(45), PrivateKeyAlgorithm.Ed25519, RotationPolicy.Always),
        };

        var error = Assert.Throws<ArgumentException>(() => InternalIssuer.Start(options));
        Assert.Contains("Ed25519", error.Message);
        Assert.Contains(".NET", error.Message);
        Assert.Contains("cannot", error.Message);
        foreach (var algorithm in Enum.GetValues<PrivateKeyAlgorithm>().Where(a => a != PrivateKeyAlgorithm.Ed25519))
        {
            Assert.Contains(algorithm.ToString(), error.Message);
        }
    }

    [Theory]
    [InlineData(PrivateKeyAlgorithm.Ec384)]
    [InlineData(PrivateKeyAlgorithm.Ec521)]
    [InlineData(PrivateKeyAlgorithm.Rsa2048)]
    public void Every_other_algorithm_starts_and_renews(PrivateKeyAlgorithm algorithm)
    {
        // RSA keys are slow to make: Never keeps the leaves' keys, so a renewal signs without making one.
        var time = Issuers.Clock();
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions
        {
            Policy = new InternalCertsConfig(TimeSpan.FromHours(1), null, algorithm, algorithm == PrivateKeyAlgorithm.Rsa2048 ? RotationPolicy.Never : RotationPolicy.Always),
            RenewalJitter = 0,
            Environment = new TransportEnvironment { TimeProvider = time },
        });
        var leaf = issuer.BackendSide.Leaf!.Thumbprint;
        time.SetUtcNow(issuer.BackendSide.RenewAt);
        Assert.NotEqual(leaf, issuer.BackendSide.Leaf!.Thumbprint);
        Assert.True(Issuers.ChainsTo(issuer.BackendSide.Leaf!, issuer.Frontend.GetCurrent().TrustBundle, time.GetUtcNow()));
    }
}
