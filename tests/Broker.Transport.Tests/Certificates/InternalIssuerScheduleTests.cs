using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Tests.Support;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Certificates;

/// <summary>When the embedded issuer renews its leaves: cert-manager's rule, to the second, on a fake clock.</summary>
public class InternalIssuerScheduleTests
{
    [Theory]
    [InlineData("1h", "5m")]
    [InlineData("1h", "59m")]
    [InlineData("1h30m", "1h")]
    [InlineData("240h", "45m")]
    [InlineData("24h", null)]
    [InlineData("1h", null)]
    [InlineData("2160h", null)]
    [InlineData("2160h", "360h")]
    [InlineData("8760h", "720h")]
    public void A_leaf_is_renewed_at_cert_managers_renewal_time_to_the_second(string duration, string? renewBefore)
    {
        var time = Issuers.Clock();
        var before = renewBefore is null ? (TimeSpan?)null : GoDuration.Parse(renewBefore);
        using var issuer = Issuers.Start(time, GoDuration.Parse(duration), before);

        // Three renewals in a row, as long as they come before the root's own renewal.
        for (var renewal = 0; renewal < 3; renewal++)
        {
            var due = Issuers.CertManagerRenewal(issuer.BackendSide.Leaf!, before);
            if (due >= issuer.RootRenewalTime)
            {
                Assert.True(renewal > 0, "The first renewal should come before the root's.");
                break;
            }

            AssertRenewedExactlyAt(time, issuer, due);
        }
    }

    [Fact]
    public void The_default_policy_renews_at_two_thirds_of_90_days()
    {
        // 2160h, no renewBefore: renewal after 1440h (60 days), beyond what one timer can wait (49.7 days).
        var time = Issuers.Clock();
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions { RenewalJitter = 0, Environment = new TransportEnvironment { TimeProvider = time } });
        Assert.Equal(Issuers.Epoch.AddHours(1440), issuer.BackendSide.RenewAt);
        Assert.Equal(Issuers.Epoch.AddHours(2160), Issuers.NotAfter(issuer.BackendSide.Leaf!));
        AssertRenewedExactlyAt(time, issuer, Issuers.Epoch.AddHours(1440));
        AssertRenewedExactlyAt(time, issuer, Issuers.Epoch.AddHours(2880));
    }

    [Fact]
    public void A_leaf_cut_short_by_its_root_renews_at_two_thirds_of_what_it_got_when_renewBefore_is_not_shorter()
    {
        // The root lives 1h and renews at 40m. Its rollover fails (the key factory refuses), so a leaf renewed
        // at 10m is cut short to the root's end (50m left): renewBefore 50m is not shorter than that, and the
        // 2/3 rule applies to the 50m actually issued. Never keeps the leaf's key, so only the root needs a key.
        var time = Issuers.Clock();
        var options = Issuers.Options(time, TimeSpan.FromHours(1), TimeSpan.FromMinutes(50), RotationPolicy.Never, caDuration: TimeSpan.FromHours(1));
        options.RetryDelay = TimeSpan.FromHours(10);
        options.MaxRetryDelay = TimeSpan.FromHours(10);
        using var issuer = InternalIssuer.Start(options);
        var root = issuer.Root;
        issuer.KeyFactory = _ => throw new System.Security.Cryptography.CryptographicException("no keys today");

        AssertRenewedExactlyAt(time, issuer, Issuers.Epoch.AddMinutes(10));
        var cut = issuer.BackendSide.Leaf!;
        Assert.Equal(Issuers.NotAfter(root), Issuers.NotAfter(cut));
        Assert.Equal(TimeSpan.FromMinutes(50), Issuers.NotAfter(cut) - Issuers.NotBefore(cut));

        // 10m + 2/3 of 50m = 43m20s; the failed rollover at 40m changed nothing.
        var due = Issuers.Epoch.AddMinutes(10).AddSeconds(2000);
        Assert.Equal(due, issuer.BackendSide.RenewAt);
        AssertRenewedExactlyAt(time, issuer, due);
        Assert.Equal(root.Thumbprint, issuer.Root.Thumbprint);

        // Again: 16m40s left, renewed at 2/3 of that.
        Assert.Equal(due.AddSeconds(1000 * 2 / 3), issuer.BackendSide.RenewAt);
    }

    [Fact]
    public void Any_duration_and_renewBefore_renews_at_cert_managers_time()
    {
        var durations = Gen.Long[3600, 2160L * 3600].SelectMany(duration =>
            Gen.Bool.SelectMany(set => set
                ? Gen.Long[300, duration - 1].Select(before => (duration, (long?)before))
                : Gen.Const((duration, (long?)null))));

        durations.Sample(
            pair =>
            {
                var (durationSeconds, beforeSeconds) = pair;
                var before = beforeSeconds is { } b ? TimeSpan.FromSeconds(b) : (TimeSpan?)null;
                var time = Issuers.Clock();
                using var issuer = Issuers.Start(time, TimeSpan.FromSeconds(durationSeconds), before);
                var due = Issuers.CertManagerRenewal(issuer.BackendSide.Leaf!, before);
                Assert.Equal(due, issuer.BackendSide.RenewAt);
                AssertRenewedExactlyAt(time, issuer, due);
            },
            iter: 60);
    }

    [Theory]
    [InlineData("1h", "5m")]
    [InlineData("1h", "59m")]
    [InlineData("1h", "45m")]
    [InlineData("24h", null)]
    [InlineData("240h", "45m")]
    public void With_jitter_a_renewal_comes_up_to_jitter_times_the_time_left_earlier_never_later_and_only_once(string duration, string? renewBefore)
    {
        const double Jitter = 0.5;
        var before = renewBefore is null ? (TimeSpan?)null : GoDuration.Parse(renewBefore);
        var seen = new HashSet<DateTimeOffset>();
        for (var run = 0; run < 8; run++)
        {
            var time = Issuers.Clock();
            using var issuer = Issuers.Start(time, GoDuration.Parse(duration), before, jitter: Jitter);
            foreach (var side in new[] { issuer.BackendSide, issuer.FrontendSide })
            {
                var leaf = side.Leaf!;
                var exact = Issuers.CertManagerRenewal(leaf, before);
                var earliest = exact - ((Issuers.NotAfter(leaf) - exact) * Jitter);
                Assert.InRange(side.RenewAt, earliest, exact);

                // A leaf is never due before, or at, the instant it was issued: that would renew it again at once.
                Assert.True(side.RenewAt > Issuers.NotBefore(leaf), $"Renewal at {side.RenewAt:O} for a leaf issued at {leaf.NotBefore:O}.");
                seen.Add(side.RenewAt);
            }

            // The backend renews at its drawn instant, once: one new leaf, not a burst of them.
            var changes = 0;
            issuer.Backend.CredentialsChanged += (_, _) => changes++;
            var old = issuer.BackendSide.Leaf!.Thumbprint;
            var due = issuer.BackendSide.RenewAt;
            time.SetUtcNow(due.AddSeconds(-1));
            Assert.Equal(old, issuer.BackendSide.Leaf!.Thumbprint);
            time.SetUtcNow(due);
            Assert.NotEqual(old, issuer.BackendSide.Leaf!.Thumbprint);
            Assert.Equal(due, Issuers.NotBefore(issuer.BackendSide.Leaf!));
            Assert.Equal(1, changes);
        }

        // 16 draws: they are not all the same instant, so there is jitter at all.
        Assert.True(seen.Count > 1, "Every renewal fell on the same instant: no jitter.");
    }

    [Fact]
    public void RotationPolicy_Always_makes_a_new_key_at_each_renewal()
    {
        var time = Issuers.Clock();
        using var issuer = Issuers.Start(time, TimeSpan.FromHours(1), TimeSpan.FromMinutes(20), RotationPolicy.Always);
        var keys = new HashSet<string> { PublicKey(issuer.BackendSide.Leaf!), PublicKey(issuer.FrontendSide.Leaf!) };
        Assert.Equal(2, keys.Count);
        for (var renewal = 1; renewal <= 4; renewal++)
        {
            time.SetUtcNow(issuer.BackendSide.RenewAt);
            Assert.True(keys.Add(PublicKey(issuer.BackendSide.Leaf!)), $"Renewal {renewal} reused a backend key.");
            Assert.True(keys.Add(PublicKey(issuer.FrontendSide.Leaf!)), $"Renewal {renewal} reused a frontend key.");
        }

        issuer.RenewNow();
        Assert.True(keys.Add(PublicKey(issuer.BackendSide.Leaf!)));
        issuer.RollOverRootNow();
        Assert.True(keys.Add(PublicKey(issuer.BackendSide.Leaf!)));
        Assert.Equal(PublicKey(issuer.BackendSide.Leaf!), PublicKey(issuer.Backend.GetCurrent().Certificate));
    }

    [Fact]
    public void RotationPolicy_Never_keeps_the_key_across_renewals_and_root_rollovers()
    {
        var time = Issuers.Clock();
        using var issuer = Issuers.Start(time, TimeSpan.FromHours(1), TimeSpan.FromMinutes(20), RotationPolicy.Never);
        var backendKey = PublicKey(issuer.BackendSide.Leaf!);
        var frontendKey = PublicKey(issuer.FrontendSide.Leaf!);
        Assert.NotEqual(backendKey, frontendKey);
        var thumbprints = new HashSet<string> { issuer.BackendSide.Leaf!.Thumbprint };
        for (var renewal = 1; renewal <= 4; renewal++)
        {
            time.SetUtcNow(issuer.BackendSide.RenewAt);
            Assert.True(thumbprints.Add(issuer.BackendSide.Leaf!.Thumbprint), "A renewal should give a new certificate.");
            Assert.Equal(backendKey, PublicKey(issuer.BackendSide.Leaf!));
            Assert.Equal(frontendKey, PublicKey(issuer.FrontendSide.Leaf!));
        }

        issuer.RenewNow();
        issuer.RollOverRootNow();
        Assert.True(thumbprints.Add(issuer.BackendSide.Leaf!.Thumbprint));
        Assert.Equal(backendKey, PublicKey(issuer.BackendSide.Leaf!));
        Assert.Equal(backendKey, PublicKey(issuer.Backend.GetCurrent().Certificate));
        Assert.Equal(frontendKey, PublicKey(issuer.Frontend.GetCurrent().Certificate));
    }

    /// <summary>One second before <paramref name="due"/> nothing changed; at <paramref name="due"/> both sides have new leaves issued then.</summary>
    private static void AssertRenewedExactlyAt(FakeTimeProvider time, InternalIssuer issuer, DateTimeOffset due)
    {
        // Thumbprints, not the leaves: the issuer disposes a leaf it has replaced once no handshake uses it.
        var backend = issuer.BackendSide.Leaf!.Thumbprint;
        var frontend = issuer.FrontendSide.Leaf!.Thumbprint;
        Assert.Equal(due, issuer.BackendSide.RenewAt);
        Assert.Equal(due, issuer.FrontendSide.RenewAt);

        time.SetUtcNow(due.AddSeconds(-1));
        Assert.Equal(backend, issuer.BackendSide.Leaf!.Thumbprint);
        Assert.Equal(frontend, issuer.FrontendSide.Leaf!.Thumbprint);
        Assert.Equal(backend, issuer.Backend.GetCurrent().Certificate.Thumbprint);

        time.SetUtcNow(due);
        var renewed = issuer.BackendSide.Leaf!;
        Assert.NotEqual(backend, renewed.Thumbprint);
        Assert.NotEqual(frontend, issuer.FrontendSide.Leaf!.Thumbprint);
        Assert.Equal(due, Issuers.NotBefore(renewed));
        Assert.Equal(due, Issuers.NotBefore(issuer.FrontendSide.Leaf!));
        Assert.Equal(renewed.Thumbprint, issuer.Backend.GetCurrent().Certificate.Thumbprint);
        Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, issuer.Frontend.GetCurrent().Certificate.Thumbprint);
    }

    private static string PublicKey(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
        => Convert.ToHexString(certificate.PublicKey.ExportSubjectPublicKeyInfo());
}
