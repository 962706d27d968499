using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Diagnostics;

/// <summary>How a side's certificates stand, as <see cref="CertificateHealth.Check"/> judges them.</summary>
public enum CertificateState
{
    /// <summary>Loaded, valid, and not yet due for renewal (nor is the root that signed the leaf).</summary>
    Healthy = 0,

    /// <summary>
    /// Past its renewal time with no successful renewal since (or its root is past 2/3 of its lifetime with no
    /// rollover): handshakes still work, but the renewals are failing and someone should look. Also while a root
    /// handover is in progress (a Secret folder's <see cref="SecretFolderCertificateSource.Handover"/>): peers that
    /// have not moved yet are still served, and the data says when it ends.
    /// </summary>
    Degraded = 1,

    /// <summary>The leaf or its root has expired, or the source has nothing loaded: handshakes fail.</summary>
    Unhealthy = 2,
}

/// <summary>One side's verdict, with the facts behind it (thumbprints and dates; never key material).</summary>
/// <param name="Side">The side whose certificates these are; its name (<c>backend</c>, <c>frontend</c>) prefixes the <paramref name="Data"/> keys.</param>
/// <param name="State">The verdict.</param>
/// <param name="Description">One sentence for people: which certificate, and why this state.</param>
/// <param name="Data">
/// The facts, keyed by the side: <c>{side}.leaf.thumbprint</c>, <c>{side}.leaf.not_after</c> and
/// <c>{side}.leaf.renewal_time</c> (<see cref="DateTimeOffset"/>, UTC), and, when the leaf chains to a root
/// of the trust bundle, <c>{side}.root.thumbprint</c> and <c>{side}.root.not_after</c>. During a root handover,
/// <c>{side}.handover.ends_at</c> (<see cref="DateTimeOffset"/>), <c>{side}.handover.switch_at</c> while a leaf
/// waits for its switch, <c>{side}.handover.pending.thumbprint</c> (that leaf) and
/// <c>{side}.handover.retiring_roots</c> (the roots it retires: subject, thumbprint and when, as text). Empty when
/// nothing is loaded.
/// </param>
public sealed record CertificateStatus(TransportSide Side, CertificateState State, string Description, IReadOnlyDictionary<string, object> Data);

/// <summary>
/// Judges a source's current certificates against the clock: what the Hosting package's
/// <c>broker-transport-certificates</c> health check reports, for a readiness probe or a check of your own
/// without Microsoft.Extensions hosting. The leaf is due at cert-manager's renewal time
/// (<see cref="InternalCertsConfig.RenewalTime"/> with the configured <c>renewBefore</c>): a source that renews
/// (the issuer, a Secret cert-manager renews) has replaced it by then, so a leaf still in use past that time
/// means the renewals are failing. The root that signed it is due at 2/3 of its lifetime, the issuer's rule. A
/// Secret folder in a root handover is Degraded until the handover ends (an expired leaf or root still makes it
/// Unhealthy).
/// </summary>
public static class CertificateHealth
{
    /// <summary>Judges the certificates <paramref name="source"/> holds now.</summary>
    /// <param name="side">The side, whose name (<c>backend</c>, <c>frontend</c>) the description and the data keys use.</param>
    /// <param name="source">The source the listener or the connector uses.</param>
    /// <param name="policy">The <c>internalCerts</c> in force, whose <c>renewBefore</c> sets the leaf's renewal time.</param>
    /// <param name="now">The time to judge at (the transport's <see cref="TimeProvider"/>'s now).</param>
    /// <returns>The verdict; a source with nothing loaded yet (<see cref="CertificateUnavailableException"/>) is <see cref="CertificateState.Unhealthy"/>, not an exception.</returns>
    public static CertificateStatus Check(TransportSide side, ICertificateSource source, InternalCertsConfig policy, DateTimeOffset now)
    {
        var name = side == TransportSide.Backend ? "backend" : "frontend";
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(policy);
        CertificateCredentials credentials;
        try
        {
            credentials = source.GetCurrent();
        }
        catch (CertificateUnavailableException ex)
        {
            return new CertificateStatus(side, CertificateState.Unhealthy, $"The {name} has no certificate loaded: {ex.Message}", new Dictionary<string, object>());
        }

        // The version's copies of the leaf's facts: a version replaced since GetCurrent may have had its leaf disposed.
        var leaf = (credentials.Subject, credentials.Thumbprint, credentials.NotBefore, credentials.NotAfter);
        var root = credentials.SigningRoot();
        var leafRenewal = policy.RenewalTime(leaf.NotBefore, leaf.NotAfter);
        var data = new Dictionary<string, object>
        {
            [$"{name}.leaf.thumbprint"] = leaf.Thumbprint,
            [$"{name}.leaf.not_after"] = leaf.NotAfter,
            [$"{name}.leaf.renewal_time"] = leafRenewal,
        };
        if (root is not null)
        {
            data[$"{name}.root.thumbprint"] = root.Thumbprint;
            data[$"{name}.root.not_after"] = Utc(root.NotAfter);
        }

        var who = $"The {name}'s certificate {leaf.Subject} ({leaf.Thumbprint})";
        if (now >= leaf.NotAfter)
        {
            return new(side, CertificateState.Unhealthy, $"{who} expired at {leaf.NotAfter:u}; handshakes with it fail.", data);
        }

        if (root is not null && now >= Utc(root.NotAfter))
        {
            return new(side, CertificateState.Unhealthy, $"The root {root.Subject} ({root.Thumbprint}) that signed the {name}'s certificate expired at {Utc(root.NotAfter):u}; handshakes fail.", data);
        }

        if (source is SecretFolderCertificateSource { Handover: { } handover })
        {
            data[$"{name}.handover.ends_at"] = handover.EndsAt;
            if (handover.SwitchAt is { } switchAt)
            {
                data[$"{name}.handover.switch_at"] = switchAt;
                data[$"{name}.handover.pending.thumbprint"] = handover.PendingThumbprint!;
            }

            var retiring = handover.RetiringRoots.Select(r => $"{CertificateText.Escape(r.Subject)} ({r.Thumbprint}) until {r.TrustedUntil:u}").ToList();
            data[$"{name}.handover.retiring_roots"] = string.Join("; ", retiring);
            var step = handover.SwitchAt is { } at
                ? $"{who} stays in use until {at:u}, then {handover.PendingThumbprint} from a root new to this side"
                : $"{who} is in use";
            var roots = retiring.Count == 0 ? string.Empty : $"; {string.Join("; ", retiring)} stay trusted for peers that have not moved yet";
            return new(side, CertificateState.Degraded, $"A root handover is in progress until {handover.EndsAt:u}: {step}{roots}.", data);
        }

        if (now >= leafRenewal)
        {
            return new(side, CertificateState.Degraded, $"{who} is past its renewal time ({leafRenewal:u}) without a successful renewal; it expires at {leaf.NotAfter:u}.", data);
        }

        if (root is not null && now >= RootRenewalTime(root))
        {
            return new(side, CertificateState.Degraded, $"The root {root.Subject} ({root.Thumbprint}) that signed the {name}'s certificate is past its renewal time ({RootRenewalTime(root):u}) without a rollover; it expires at {Utc(root.NotAfter):u}.", data);
        }

        return new(side, CertificateState.Healthy, $"{who} is valid until {leaf.NotAfter:u}, due for renewal at {leafRenewal:u}.", data);
    }

    private static DateTimeOffset RootRenewalTime(X509Certificate2 root) => RootRenewal.At(Utc(root.NotBefore), Utc(root.NotAfter));

    private static DateTimeOffset Utc(DateTime time) => new(time.ToUniversalTime(), TimeSpan.Zero);
}
