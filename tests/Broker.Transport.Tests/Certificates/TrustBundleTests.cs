using Broker.Transport.Certificates;
using Broker.Transport.Diagnostics;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// The trust bundle as its own source: a ConfigMap folder (a trust-manager Bundle's target) beside the Secret, both
/// written as kubelet writes them, polled, compared by content, validated, the last good one kept; and the
/// root-rotation runbook (new root into the bundle, then leaves, then the old root out) through it.
/// </summary>
public sealed class TrustBundleTests
{
    private static readonly TimeSpan Handover = TrustFolders.Handover;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_runbook_adds_the_new_root_then_takes_the_leaves_at_once_then_retires_the_old_root_after_its_handover()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old, bundle: r1.Bundle);
        Assert.Equal(side.Bundle!.Path, side.Source.TrustBundlePath);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root), side.Trusted());

        // 1. The new root into the bundle: trusted, said so by subject and thumbprint, no line naming the leaf.
        side.WriteBundle([r1.Root, r2.Root]);
        await side.PollAsync();
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Null(side.Source.Handover);
        Assert.Equal([112], side.Steps());
        var added = side.Logs.Events(112)[0];
        Assert.Equal($"The trust bundle changed ({Path.Combine(side.Bundle.Path, "ca.crt")}): roots added: CN=Root 2 ({r2.Root.Thumbprint}); roots removed: none.", added.Message);
        Assert.Equal(1, side.TrustChanges);

        // 2. Once every pod has had the time to see it (RootHandover), the leaves: used at once, no handover.
        await side.AdvanceAsync(Handover);
        var next = r2.Backend();
        side.WriteSecret(next);
        await side.PollAsync();
        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Null(side.Source.Handover);
        Assert.Equal([112, 110], side.Steps());

        // 3. The old root out: trusted RootHandover more for a peer whose update comes later, then gone.
        side.WriteBundle([r2.Root]);
        await side.PollAsync();
        var removedAt = side.Time.GetUtcNow();
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        Assert.Contains($"roots removed: CN=Root 1 ({r1.Root.Thumbprint}), trusted until {removedAt + Handover:u} (RootHandover)", side.Logs.Events(112)[1].Message, StringComparison.Ordinal);
        var retiring = Assert.Single(side.Source.Handover!.RetiringRoots);
        Assert.Equal(removedAt + Handover, retiring.TrustedUntil);
        Assert.Equal(CertificateState.Degraded, CertificateHealth.Check(TransportSide.Backend, side.Source, InternalCertsConfig.Default, side.Time.GetUtcNow()).State);
        await side.AdvanceAsync(Handover);
        Assert.Equal(TrustFolders.Thumbprints(r2.Root), side.Trusted());
        Assert.Equal([112, 110, 112, 115], side.Steps());
        Assert.Equal(2, side.TrustChanges); // root 2 in; root 1 out (kept meanwhile: the set did not change then)
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Leaves_renewed_too_soon_after_the_new_root_entered_the_bundle_wait_until_it_has_been_trusted_RootHandover()
    {
        // The bundle came first, but only moments before the leaf: pods whose bundle comes later do not trust it yet.
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old, bundle: r1.Bundle);
        side.WriteBundle([r2.Root]); // an abrupt switch, bundle first: the Bundle's source is the CA Secret
        await side.PollAsync();
        var rootSince = side.Time.GetUtcNow();
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted()); // root 1: the leaf in use chains to it

        var next = r2.Backend();
        side.WriteSecret(next);
        await side.PollAsync();

        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(rootSince + Handover, side.Source.Handover!.SwitchAt);
        Assert.Contains($"trusted here since {rootSince:u}", side.Logs.Events(113)[0].Message, StringComparison.Ordinal);
        await side.AdvanceAsync(rootSince + Handover - side.Time.GetUtcNow());
        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        await side.AdvanceAsync(Handover);
        Assert.Equal(TrustFolders.Thumbprints(r2.Root), side.Trusted());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_abrupt_switch_whose_Secret_comes_before_the_bundle_hands_over_and_the_bundle_follows()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old, bundle: r1.Bundle);
        var next = r2.Backend();
        side.WriteSecret(next); // ca.crt names root 2; the bundle does not yet
        await side.PollAsync();
        var start = side.Time.GetUtcNow();
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        Assert.Equal([113], side.Steps()); // the bundle did not change: no 112

        await side.AdvanceAsync(TimeSpan.FromSeconds(40));
        side.WriteBundle([r2.Root]);
        await side.PollAsync();
        await side.AdvanceAsync(start + Handover - side.Time.GetUtcNow());
        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        await side.AdvanceAsync(Handover);
        Assert.Equal(TrustFolders.Thumbprints(r2.Root), side.Trusted());
        Assert.Equal([113, 112, 114, 115], side.Steps());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_Secret_without_ca_crt_is_complete_when_the_bundle_has_its_root()
    {
        var pki = TestPki.Create();
        var first = pki.Backend();
        using var secret = new KubeletSecretFolder(KubeletSecretFolder.Payload(first).Where(kv => kv.Key != "ca.crt").ToDictionary());
        using var bundle = new KubeletSecretFolder(TrustFolders.BundlePayload(pki.Bundle, key: "trust-bundle.pem"));
        using var source = SecretFolderCertificateSource.Open(secret.Path, new SecretFolderOptions { TrustBundlePath = bundle.Path, Environment = new TransportEnvironment { TimeProvider = Issuers.ClockAtRealNow() } });

        Assert.Equal(first.Thumbprint, source.GetCurrent().Thumbprint);
        Assert.Equal(pki.Root.Thumbprint, Assert.Single(source.GetTrustBundle()).Thumbprint);

        // Without a bundle of its own, ca.crt is required.
        var error = Assert.Throws<CertificateLoadException>(() => SecretFolderCertificateSource.Open(secret.Path));
        Assert.Contains("trust bundle file", error.Message, StringComparison.Ordinal);
        Assert.Contains("ca.crt' does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public void A_leaf_that_chains_to_neither_the_bundle_nor_its_ca_crt_is_refused_at_start_naming_both()
    {
        var (pki, other) = (TestPki.Create(), TestPki.Create("Another CA"));
        using var secret = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend(), trust: other.Bundle));
        using var bundle = new KubeletSecretFolder(TrustFolders.BundlePayload(other.Bundle));

        var error = Assert.Throws<CertificateLoadException>(() => SecretFolderCertificateSource.Open(secret.Path, new SecretFolderOptions { TrustBundlePath = bundle.Path }));

        Assert.Contains("does not chain to the trust bundle or its ca.crt", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> BrokenBundles => ["half-written", "empty", "a leaf key, no certificate", "the key removed from the ConfigMap"];

    [Theory(Timeout = TestTimeouts.Hang)]
    [MemberData(nameof(BrokenBundles))]
    public async Task A_broken_bundle_is_refused_once_its_roots_stay_and_a_later_good_bundle_is_taken(string broken)
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        using var side = TrustFolders.Open(r1.Backend(), bundle: r1.Bundle);
        var good = KubeletSecretFolder.Roots([r1.Root, r2.Root]);
        var payload = broken switch
        {
            "half-written" => new Dictionary<string, string> { ["ca.crt"] = good[..(good.Length * 3 / 4)] }, // cut inside the second root
            "empty" => new Dictionary<string, string> { ["ca.crt"] = string.Empty },
            "a leaf key, no certificate" => new Dictionary<string, string> { ["ca.crt"] = KubeletSecretFolder.KeyPem(r1.Backend().Certificate, KeyFormat.Pkcs8) },
            _ => new Dictionary<string, string>(),
        };
        side.Bundle!.Write(payload);

        for (var poll = 0; poll < 5; poll++)
        {
            await side.PollAsync();
        }

        var error = Assert.IsType<CertificateLoadException>(side.Source.LastTrustBundleError);
        Assert.Contains(side.Bundle.Path, error.Message, StringComparison.Ordinal);
        Assert.Null(side.Source.LastError);
        var refused = Assert.Single(side.Logs.Events(118));
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Contains(error.Message, refused.Message, StringComparison.Ordinal);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root), side.Trusted());

        side.WriteBundle([r1.Root, r2.Root]);
        await side.PollAsync();
        Assert.Null(side.Source.LastTrustBundleError);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public void A_bundle_folder_is_read_by_its_ca_crt_else_its_only_file_and_one_that_does_not_say_which_is_refused()
    {
        var pki = TestPki.Create();
        var leaf = pki.Backend();
        using var secret = new KubeletSecretFolder(KubeletSecretFolder.Payload(leaf));
        var roots = KubeletSecretFolder.Roots(pki.Bundle);
        SecretFolderCertificateSource Open(string path) => SecretFolderCertificateSource.Open(secret.Path, new SecretFolderOptions { TrustBundlePath = path });

        // ca.crt beside a Bundle's binary additional formats: ca.crt is read.
        using (var withFormats = new KubeletSecretFolder(new Dictionary<string, string> { ["ca.crt"] = roots, ["bundle.p12"] = "\u0001binary", ["bundle.jks"] = "\u0002binary" }))
        using (var source = Open(withFormats.Path))
        {
            Assert.Single(source.GetTrustBundle());
        }

        // One key of another name: that one. A file named directly: itself.
        using (var single = new KubeletSecretFolder(new Dictionary<string, string> { ["trust-bundle.pem"] = roots }))
        {
            using (Open(single.Path))
            {
            }

            using (Open(Path.Combine(single.Path, "trust-bundle.pem")))
            {
            }
        }

        using var several = new KubeletSecretFolder(new Dictionary<string, string> { ["bundle.pem"] = roots, ["bundle.p12"] = "\u0001binary" });
        var error = Assert.Throws<CertificateLoadException>(() => Open(several.Path));
        Assert.Equal($"The trust bundle folder '{several.Path}' holds 2 files (bundle.p12, bundle.pem) and no ca.crt: name the PEM file itself, such as '{Path.Combine(several.Path, "bundle.pem")}' (a Bundle's additionalFormats add binary JKS or PKCS#12 keys beside it).", error.Message);

        var missing = Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N"), "ca.crt");
        error = Assert.Throws<CertificateLoadException>(() => Open(missing));
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Open(" "));
        Assert.Throws<ArgumentException>(() => SecretFolderCertificateSource.Open(secret.Path, new SecretFolderOptions { RootHandover = TimeSpan.FromSeconds(-1) }));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_bundle_update_with_the_same_roots_in_other_text_changes_nothing()
    {
        var pki = TestPki.Create();
        using var side = TrustFolders.Open(pki.Backend(), bundle: pki.Bundle);
        var version = side.Source.GetCurrent().Version;
        side.Bundle!.Write(new Dictionary<string, string> { ["ca.crt"] = "# the internal CA\n" + KubeletSecretFolder.Roots(pki.Bundle) });

        await side.PollAsync();

        Assert.Equal(version, side.Source.GetCurrent().Version);
        Assert.Empty(side.Steps());
        Assert.Equal(0, side.TrustChanges);
    }
}
