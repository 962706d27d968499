using Broker.Transport.Certificates;
using Broker.Transport.Diagnostics;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// A root handover in a Secret folder source, step by step on a fake clock (started at the real now, so the leaves
/// are valid in both): kubelet-style folders on disk, real certificates, real chain checks. The CA switched
/// abruptly (leaf and ca.crt changed together) is what a cert-manager CA re-key or a CA Secret replaced does.
/// </summary>
public sealed class RootHandoverTests
{
    private static readonly TimeSpan Poll = TrustFolders.Poll;
    private static readonly TimeSpan Handover = TrustFolders.Handover;
    private static readonly InternalCertsConfig Policy = InternalCertsConfig.Default;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_abrupt_CA_switch_trusts_the_new_root_at_once_keeps_the_old_leaf_then_switches_then_retires_the_old_root()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old);
        var versions = new List<CertificateCredentials>();
        side.Source.CredentialsChanged += (_, v) => versions.Add(v);
        Assert.Equal(2, Handover.TotalMinutes);

        var next = r2.Backend();
        side.WriteSecret(next);
        await side.PollAsync();
        var start = side.Time.GetUtcNow();

        // The new root is trusted at once; the old leaf stays in use, and so does the old root.
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        Assert.Equal(1, side.TrustChanges);
        var handover = Assert.IsType<RootHandoverStatus>(side.Source.Handover);
        Assert.Equal(start + Handover, handover.SwitchAt);
        Assert.Equal(next.Thumbprint, handover.PendingThumbprint);
        Assert.Equal(old.Thumbprint, handover.PresentedThumbprint);
        var retiring = Assert.Single(handover.RetiringRoots);
        Assert.Equal((r1.Root.Thumbprint, start + (2 * Handover)), (retiring.Thumbprint, retiring.TrustedUntil));
        Assert.Equal(start + (2 * Handover), handover.EndsAt);
        Assert.Equal([112, 113], side.Steps());
        var started = Assert.Single(side.Logs.Events(113));
        Assert.Equal(LogLevel.Information, started.Level);
        Assert.Contains($"the new certificate {next.Thumbprint} chains to CN=Root 2 ({r2.Root.Thumbprint})", started.Message, StringComparison.Ordinal);
        Assert.Contains($"the previous certificate {old.Thumbprint} stays in use until {start + Handover:u}", started.Message, StringComparison.Ordinal);
        var reloaded = Assert.Single(side.Logs.Events(112));
        Assert.Contains($"roots added: CN=Root 2 ({r2.Root.Thumbprint}); roots removed: CN=Root 1 ({r1.Root.Thumbprint}), trusted while this side's own certificate chains to it", reloaded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(old.Thumbprint, reloaded.Message, StringComparison.Ordinal);
        var health = CertificateHealth.Check(TransportSide.Backend, side.Source, Policy, side.Time.GetUtcNow());
        Assert.Equal(CertificateState.Degraded, health.State);
        Assert.Equal(start + (2 * Handover), health.Data["backend.handover.ends_at"]);
        Assert.Equal(start + Handover, health.Data["backend.handover.switch_at"]);
        Assert.Contains($"A root handover is in progress until {start + (2 * Handover):u}", health.Description, StringComparison.Ordinal);

        // Not a moment before its time.
        await side.AdvanceAsync(Handover - TimeSpan.FromSeconds(1));
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);

        // The switch: the new leaf in use, the old root still trusted for peers that have not switched yet.
        await side.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root), side.Trusted());
        Assert.Equal(1, side.TrustChanges);
        handover = Assert.IsType<RootHandoverStatus>(side.Source.Handover);
        Assert.Null(handover.SwitchAt);
        Assert.Null(handover.PendingThumbprint);
        Assert.Equal(start + (2 * Handover), handover.EndsAt);
        Assert.Equal([112, 113, 114], side.Steps());
        Assert.Contains($"roots this side no longer uses stay trusted until {start + (2 * Handover):u}", side.Logs.Events(114)[0].Message, StringComparison.Ordinal);
        Assert.Equal(CertificateState.Degraded, CertificateHealth.Check(TransportSide.Backend, side.Source, Policy, side.Time.GetUtcNow()).State);

        // RootHandover after the switch, the old root goes: the handover is over.
        await side.AdvanceAsync(Handover - TimeSpan.FromSeconds(1));
        Assert.Contains(r1.Root.Thumbprint, side.Trusted());
        await side.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(TrustFolders.Thumbprints(r2.Root), side.Trusted());
        Assert.Equal(2, side.TrustChanges);
        Assert.Null(side.Source.Handover);
        Assert.Equal([112, 113, 114, 115], side.Steps());
        Assert.EndsWith("The root handover is over.", side.Logs.Events(115)[0].Message, StringComparison.Ordinal);
        Assert.Equal(CertificateState.Healthy, CertificateHealth.Check(TransportSide.Backend, side.Source, Policy, side.Time.GetUtcNow()).State);

        // Each version carried the trust of its moment: (old leaf, both roots), (new leaf, both), (new leaf, new root).
        Assert.Equal(
            [(old.Thumbprint, 2), (next.Thumbprint, 2), (next.Thumbprint, 1)],
            versions.Select(v => (v.Thumbprint, v.TrustBundle.Count)));
        Assert.Same(side.Source.GetTrustBundle(), side.Source.GetCurrent().TrustBundle);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task RootHandover_zero_switches_at_once_and_drops_the_old_root_at_once_with_a_warning()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old, handover: TimeSpan.Zero);
        var next = r2.Backend();
        side.WriteSecret(next);

        await side.PollAsync();

        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r2.Root), side.Trusted());
        Assert.Equal(1, side.TrustChanges);
        Assert.Null(side.Source.Handover);
        Assert.Equal([112, 119], side.Steps());
        var atOnce = side.Logs.Events(119)[0];
        Assert.Equal(LogLevel.Warning, atOnce.Level);
        Assert.Contains("RootHandover is 0 (the emergency setting)", atOnce.Message, StringComparison.Ordinal);
        Assert.Contains($"in place of {old.Thumbprint}", atOnce.Message, StringComparison.Ordinal);
        Assert.Contains($"no longer trusted (CN=Root 1 ({r1.Root.Thumbprint}))", atOnce.Message, StringComparison.Ordinal);
        Assert.Contains("no longer trusted", side.Logs.Events(112)[0].Message, StringComparison.Ordinal);
        Assert.Equal(CertificateState.Healthy, CertificateHealth.Check(TransportSide.Backend, side.Source, Policy, side.Time.GetUtcNow()).State);

        // Nothing is left to happen later.
        await side.AdvanceAsync(Handover * 3);
        Assert.Equal([112, 119], side.Steps());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_renewal_from_the_new_root_during_the_wait_replaces_the_waiting_leaf_and_keeps_the_switch_time()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old);
        side.WriteSecret(r2.Backend());
        await side.PollAsync();
        var switchAt = side.Source.Handover!.SwitchAt;
        var waiting = side.Source.PendingCertificate!;
        var waitingThumbprint = side.Source.Handover.PendingThumbprint;

        // cert-manager renews again (rotationPolicy Always) before the switch.
        var renewed = r2.Backend();
        side.WriteSecret(renewed);
        await side.PollAsync();

        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(renewed.Thumbprint, side.Source.Handover!.PendingThumbprint);
        Assert.Equal(switchAt, side.Source.Handover.SwitchAt);
        Assert.Equal(IntPtr.Zero, waiting.Handle); // the dropped leaf's key went at once: no handshake ever held it
        var interrupted = Assert.Single(side.Logs.Events(116));
        Assert.Equal(LogLevel.Warning, interrupted.Level);
        Assert.Contains($"the certificate {waitingThumbprint} that was waiting is dropped", interrupted.Message, StringComparison.Ordinal);
        Assert.Contains($"waits in its place", interrupted.Message, StringComparison.Ordinal);
        Assert.Equal(1, side.TrustChanges);

        await side.AdvanceAsync(switchAt!.Value - side.Time.GetUtcNow());
        Assert.Equal(renewed.Thumbprint, side.Source.GetCurrent().Thumbprint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_third_root_during_the_wait_starts_the_handover_again_and_every_root_left_behind_stays_trusted_its_time()
    {
        var (r1, r2, r3) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"), TestPki.Create("Root 3"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old);
        side.WriteSecret(r2.Backend());
        await side.PollAsync();
        await side.AdvanceAsync(TimeSpan.FromSeconds(50));

        var third = r3.Backend();
        side.WriteSecret(third);
        await side.PollAsync();
        var restart = side.Time.GetUtcNow();

        // Still the old leaf: peers may not trust root 3 yet. Root 2, never presented, stays trusted RootHandover.
        var handover = side.Source.Handover!;
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(third.Thumbprint, handover.PendingThumbprint);
        Assert.Equal(restart + Handover, handover.SwitchAt);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r2.Root, r3.Root), side.Trusted());
        Assert.Contains(handover.RetiringRoots, r => r.Thumbprint == r2.Root.Thumbprint && r.TrustedUntil == restart + Handover);
        Assert.Contains(handover.RetiringRoots, r => r.Thumbprint == r1.Root.Thumbprint && r.TrustedUntil == restart + (2 * Handover));
        Assert.Equal([112, 113, 112, 116, 113], side.Steps());

        await side.AdvanceAsync(Handover);
        Assert.Equal(third.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root, r3.Root), side.Trusted());
        await side.AdvanceAsync(Handover);
        Assert.Equal(TrustFolders.Thumbprints(r3.Root), side.Trusted());
        Assert.Null(side.Source.Handover);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_Secret_rolled_back_during_the_wait_calls_the_handover_off()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old);
        side.WriteSecret(r2.Backend());
        await side.PollAsync();

        side.WriteSecret(old); // the CA change reverted: the same Secret as before
        await side.PollAsync();
        var rollback = side.Time.GetUtcNow();

        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        var handover = side.Source.Handover!;
        Assert.Null(handover.SwitchAt);
        Assert.Equal(r2.Root.Thumbprint, Assert.Single(handover.RetiringRoots).Thumbprint);
        Assert.Contains("the Secret holds the certificate in use again", side.Logs.Events(116)[0].Message, StringComparison.Ordinal);
        await side.AdvanceAsync(Handover);
        Assert.Equal(TrustFolders.Thumbprints(r1.Root), side.Trusted());
        Assert.Null(side.Source.Handover);
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal(rollback + Handover, side.Time.GetUtcNow());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_leaf_from_a_root_trusted_long_enough_ends_the_wait_at_once()
    {
        // The Secret goes back to a leaf of the old root, renewed: every peer trusts that root, so it is used at once.
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var old = r1.Backend();
        using var side = TrustFolders.Open(old);
        side.WriteSecret(r2.Backend());
        await side.PollAsync();

        var renewedOld = r1.Backend();
        side.WriteSecret(renewedOld);
        await side.PollAsync();

        Assert.Equal(renewedOld.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Null(side.Source.Handover!.SwitchAt);
        Assert.Contains("trusted here long enough, and is in use now", side.Logs.Events(116)[0].Message, StringComparison.Ordinal);
        Assert.Single(side.Logs.Events(110));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_old_leaf_that_expires_during_the_wait_is_replaced_when_it_expires()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var now = DateTimeOffset.UtcNow;
        var old = r1.Backend(spec => spec with { NotBefore = now.AddHours(-1), NotAfter = now.AddSeconds(70) });
        using var side = TrustFolders.Open(old);
        var next = r2.Backend();
        side.WriteSecret(next);
        await side.PollAsync();

        // The switch is at the old leaf's end, not RootHandover after: a leaf is never presented past its NotAfter.
        Assert.Equal(old.NotAfter, side.Source.Handover!.SwitchAt);
        await side.AdvanceAsync(old.NotAfter - side.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.Equal(old.Thumbprint, side.Source.GetCurrent().Thumbprint);
        await side.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Equal([112, 113, 117], side.Steps());
        var cutShort = side.Logs.Events(117)[0];
        Assert.Equal(LogLevel.Warning, cutShort.Level);
        Assert.Contains($"the previous certificate {old.Thumbprint} expires at {old.NotAfter:u}, before the handover's switch", cutShort.Message, StringComparison.Ordinal);

        // The old root still stays RootHandover after this side stopped presenting its leaf.
        Assert.Contains(r1.Root.Thumbprint, side.Trusted());
        await side.AdvanceAsync(Handover);
        Assert.DoesNotContain(r1.Root.Thumbprint, side.Trusted());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_update_that_finds_the_old_leaf_already_expired_is_used_at_once()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var now = DateTimeOffset.UtcNow;
        var old = r1.Backend(spec => spec with { NotBefore = now.AddHours(-1), NotAfter = now.AddSeconds(5) });
        using var side = TrustFolders.Open(old);
        await side.AdvanceAsync(TimeSpan.FromSeconds(30)); // the renewals failed; the leaf expired meanwhile
        var next = r2.Backend();
        side.WriteSecret(next);

        Assert.True(side.Source.CheckNow());

        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Null(side.Source.Handover!.SwitchAt);
        Assert.Contains(117, side.Steps());
        Assert.DoesNotContain(113, side.Steps());
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_leaf_renewal_from_the_same_root_is_no_handover()
    {
        var pki = TestPki.Create();
        using var side = TrustFolders.Open(pki.Backend());
        var next = pki.Backend();
        side.WriteSecret(next);

        await side.PollAsync();

        Assert.Equal(next.Thumbprint, side.Source.GetCurrent().Thumbprint);
        Assert.Null(side.Source.Handover);
        Assert.Equal([110], side.Steps());
        Assert.Equal(0, side.TrustChanges);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_leaf_republished_with_a_new_trust_bundle_keeps_its_key_while_any_version_or_the_source_holds_it()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        using var side = TrustFolders.Open(r1.Backend(), bundle: r1.Bundle);
        var first = side.Source.GetCurrent();
        var leaf = first.Certificate;
        Assert.True(first.TryAcquire()); // a handshake in flight with the first version

        // A bundle change republishes the same leaf; the first version is replaced but still held.
        side.WriteBundle([r1.Root, r2.Root]);
        await side.PollAsync();
        var second = side.Source.GetCurrent();
        Assert.NotEqual(first.Version, second.Version);
        Assert.Same(leaf, second.Certificate);
        first.Release();
        Assert.True(first.IsFinished);
        Assert.NotEqual(IntPtr.Zero, leaf.Handle); // the second version (and the source) still hold it

        // A new leaf replaces it: once no handshake holds a version of it, its key goes.
        Assert.True(second.TryAcquire());
        await side.AdvanceAsync(Handover);
        side.WriteSecret(r2.Backend());
        await side.PollAsync();
        Assert.NotSame(leaf, side.Source.GetCurrent().Certificate);
        Assert.NotEqual(IntPtr.Zero, leaf.Handle);
        second.Release();
        Assert.Equal(IntPtr.Zero, leaf.Handle);

        // At dispose, the last leaf goes too.
        var last = side.Source.GetCurrent().Certificate;
        side.Source.Dispose();
        Assert.Equal(IntPtr.Zero, last.Handle);
        Assert.Throws<CertificateUnavailableException>(() => side.Source.GetTrustBundle());
    }
}
