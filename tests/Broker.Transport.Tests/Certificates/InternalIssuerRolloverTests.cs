using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// The root's rollover on a fake clock: the new root is trusted before it signs, every leaf that is still
/// valid stays trusted by the other side, and an old root leaves the bundle exactly when its last leaf expires.
/// </summary>
public class InternalIssuerRolloverTests
{
    [Fact]
    public void Across_two_root_rollovers_every_valid_leaf_chains_to_the_other_sides_bundle_and_old_roots_leave_exactly_when_their_last_leaf_expires()
    {
        // Root 3h, renewing at 2h; leaves 1h renewing 25m before expiry, every 35m: 35m, 70m, 105m; at 120m the
        // root rolls over and both leaves are re-issued from the new root; the 105m leaves, the old root's last,
        // expire at 165m. The second root rolls over at 240m and its last leaves expire at 285m.
        var time = Issuers.Clock();
        using var issuer = Issuers.Start(time, TimeSpan.FromHours(1), TimeSpan.FromMinutes(25), caDuration: TimeSpan.FromHours(3));
        var leaves = new Dictionary<string, X509Certificate2>();
        var roots = new Dictionary<string, X509Certificate2>();
        // A copy without the key: the issuer disposes a leaf it has replaced once no handshake uses it.
        void Record(X509Certificate2 leaf) => leaves.TryAdd(leaf.Thumbprint, X509CertificateLoader.LoadCertificate(leaf.RawData));
        Record(issuer.BackendSide.Leaf!);
        Record(issuer.FrontendSide.Leaf!);
        issuer.Backend.CredentialsChanged += (_, c) => Record(c.Certificate);
        issuer.Frontend.CredentialsChanged += (_, c) => Record(c.Certificate);
        var first = issuer.Root;
        Assert.Equal(Issuers.Epoch.AddHours(2), issuer.RootRenewalTime);

        // Every renewal, rollover and expiry falls on a multiple of 5 minutes: look one second before and at each.
        for (var minute = 5; minute <= 300; minute += 5)
        {
            foreach (var at in new[] { Issuers.Epoch.AddMinutes(minute).AddSeconds(-1), Issuers.Epoch.AddMinutes(minute) })
            {
                time.SetUtcNow(at);
                roots.TryAdd(issuer.Root.Thumbprint, issuer.Root);
                var backend = issuer.Backend.GetCurrent();
                var frontend = issuer.Frontend.GetCurrent();

                // Each side's current leaf chains to the other side's current bundle, and comes from the current root.
                Assert.Null(Issuers.ChainStatus(backend.Certificate, frontend.TrustBundle, at));
                Assert.Null(Issuers.ChainStatus(frontend.Certificate, backend.TrustBundle, at));
                Assert.Equal(Signer(issuer.Root), Signer(backend.Certificate, authority: true));
                Assert.Equal(Signer(issuer.Root), Signer(frontend.Certificate, authority: true));

                // Every leaf still valid (an open connection may hold it) is trusted by both bundles.
                var valid = leaves.Values.Where(l => Issuers.NotBefore(l) <= at && at < Issuers.NotAfter(l)).ToList();
                foreach (var leaf in valid)
                {
                    Assert.Null(Issuers.ChainStatus(leaf, backend.TrustBundle, at));
                    Assert.Null(Issuers.ChainStatus(leaf, frontend.TrustBundle, at));
                }

                // The bundle holds the current root and the roots of valid leaves: nothing more, nothing less.
                var needed = valid.Select(l => Signer(l, authority: true)).Append(Signer(issuer.Root)).ToHashSet();
                Assert.Equal(needed.Order(), backend.TrustBundle.Select(r => Signer(r)).Order());
                Assert.Equal(needed.Order(), frontend.TrustBundle.Select(r => Signer(r)).Order());
                Assert.Equal(needed.Order(), issuer.TrustBundle.Select(r => Signer(r)).Order());

                if (at == Issuers.Epoch.AddMinutes(120).AddSeconds(-1))
                {
                    Assert.Single(issuer.TrustBundle);
                    Assert.Equal(first.Thumbprint, issuer.Root.Thumbprint);
                }

                if (at == Issuers.Epoch.AddMinutes(120))
                {
                    // The rollover: a new root, both trusted by both sides, new leaves from the new root only.
                    Assert.NotEqual(first.Thumbprint, issuer.Root.Thumbprint);
                    Assert.Equal(2, backend.TrustBundle.Count);
                    Assert.Equal(2, frontend.TrustBundle.Count);
                    Assert.Contains(backend.TrustBundle, r => r.Thumbprint == first.Thumbprint);
                    Assert.True(Issuers.ChainsTo(backend.Certificate, [issuer.Root], at));
                    Assert.False(Issuers.ChainsTo(backend.Certificate, [first], at));
                    Assert.Equal(at, Issuers.NotBefore(frontend.Certificate));
                }

                if (at == Issuers.Epoch.AddMinutes(165).AddSeconds(-1))
                {
                    Assert.Contains(frontend.TrustBundle, r => r.Thumbprint == first.Thumbprint);
                }

                if (at == Issuers.Epoch.AddMinutes(165))
                {
                    Assert.DoesNotContain(frontend.TrustBundle, r => r.Thumbprint == first.Thumbprint);
                    Assert.Single(frontend.TrustBundle);
                }
            }
        }

        Assert.Equal(3, roots.Count);
        Assert.True(leaves.Count >= 20, $"Only {leaves.Count} leaves were issued.");
    }

    [Fact]
    public void RollOverRootNow_trusts_both_roots_before_handing_out_a_leaf_from_the_new_one()
    {
        var time = Issuers.Clock();
        using var issuer = Issuers.Start(time, TimeSpan.FromHours(1), caDuration: TimeSpan.FromHours(3));
        var old = issuer.Root;
        // A copy without the key: the issuer disposes a leaf it has replaced once no handshake uses it.
        var oldBackend = X509CertificateLoader.LoadCertificate(issuer.BackendSide.Leaf!.RawData);

        // Every publication, in order, with what the other side trusted at that instant.
        var published = new List<(string Side, CertificateCredentials Credentials)>();
        issuer.Backend.CredentialsChanged += (_, c) => published.Add(("backend", c));
        issuer.Frontend.CredentialsChanged += (_, c) => published.Add(("frontend", c));
        time.Advance(TimeSpan.FromMinutes(10));
        issuer.RollOverRootNow();

        Assert.NotEqual(old.Thumbprint, issuer.Root.Thumbprint);
        Assert.Equal(4, published.Count);

        // First both sides publish their old leaf with both roots, then the new leaves.
        Assert.All(published.Take(2), p => Assert.Equal(2, p.Credentials.TrustBundle.Count));
        Assert.Equal(oldBackend.Thumbprint, published[0].Credentials.Thumbprint);
        Assert.All(published.Skip(2), p => Assert.True(Issuers.ChainsTo(p.Credentials.Certificate, [issuer.Root], time.GetUtcNow())));
        Assert.All(published, p => Assert.Equal(2, p.Credentials.TrustBundle.Count));

        // The old root stays until the last leaf it signed (issued at 0, 1h) expires.
        time.SetUtcNow(Issuers.NotAfter(oldBackend).AddSeconds(-1));
        Assert.Equal(2, issuer.TrustBundle.Count);
        Assert.True(Issuers.ChainsTo(oldBackend, issuer.Frontend.GetCurrent().TrustBundle, time.GetUtcNow()));
        time.SetUtcNow(Issuers.NotAfter(oldBackend));
        Assert.Single(issuer.TrustBundle);
        Assert.Equal(issuer.Root.Thumbprint, issuer.Frontend.GetCurrent().TrustBundle[0].Thumbprint);
    }

    /// <summary>The key identifier of a CA (its SKI) or, with <paramref name="authority"/>, of the CA that signed a certificate (its AKI).</summary>
    private static string Signer(X509Certificate2 certificate, bool authority = false)
    {
        if (authority)
        {
            var aki = certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single();
            return Convert.ToHexString(aki.KeyIdentifier!.Value.Span);
        }

        return certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier!;
    }
}
