using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Diagnostics;

/// <summary>How a side's certificates stand: what the health check reports.</summary>
internal enum CertificateState
{
    /// <summary>Loaded, and not yet due for renewal.</summary>
    Healthy = 0,

    /// <summary>Past its renewal time with no successful renewal since: it still works, but someone should look.</summary>
    Degraded = 1,

    /// <summary>Expired, or nothing loaded: handshakes fail.</summary>
    Unhealthy = 2,
}

/// <summary>One side's verdict, with the facts behind it (thumbprints and dates; never key material).</summary>
internal sealed record CertificateStatus(string Side, CertificateState State, string Description, IReadOnlyDictionary<string, object> Data);

/// <summary>
/// Judges a source's current certificates against the clock. The leaf is due at cert-manager's renewal time
/// (<see cref="InternalCertsConfig.RenewalTime"/> with the configured <c>renewBefore</c>): a source that renews
/// (the issuer, a Secret cert-manager renews) has replaced it by then, so a leaf still in use past that time
/// means the renewals are failing. The root that signed it is due at 2/3 of its lifetime, the issuer's rule.
/// </summary>
internal static class CertificateHealth
{
    public static CertificateStatus Check(string side, ICertificateSource source, InternalCertsConfig policy, DateTimeOffset now)
    {
        CertificateCredentials credentials;
        try
        {
            credentials = source.GetCurrent();
        }
        catch (CertificateUnavailableException ex)
        {
            return new CertificateStatus(side, CertificateState.Unhealthy, $"The {side} has no certificate loaded: {ex.Message}", new Dictionary<string, object>());
        }

        // The version's copies of the leaf's facts: a version replaced since GetCurrent may have had its leaf disposed.
        var leaf = (credentials.Subject, credentials.Thumbprint, credentials.NotBefore, credentials.NotAfter);
        var root = credentials.SigningRoot();
        var leafRenewal = policy.RenewalTime(leaf.NotBefore, leaf.NotAfter);
        var data = new Dictionary<string, object>
        {
            [$"{side}.leaf.thumbprint"] = leaf.Thumbprint,
            [$"{side}.leaf.not_after"] = leaf.NotAfter,
            [$"{side}.leaf.renewal_time"] = leafRenewal,
        };
        if (root is not null)
        {
            data[$"{side}.root.thumbprint"] = root.Thumbprint;
            data[$"{side}.root.not_after"] = Utc(root.NotAfter);
        }

        var who = $"The {side}'s certificate {leaf.Subject} ({leaf.Thumbprint})";
        if (now >= leaf.NotAfter)
        {
            return new(side, CertificateState.Unhealthy, $"{who} expired at {leaf.NotAfter:u}; handshakes with it fail.", data);
        }

        if (root is not null && now >= Utc(root.NotAfter))
        {
            return new(side, CertificateState.Unhealthy, $"The root {root.Subject} ({root.Thumbprint}) that signed the {side}'s certificate expired at {Utc(root.NotAfter):u}; handshakes fail.", data);
        }

        if (now >= leafRenewal)
        {
            return new(side, CertificateState.Degraded, $"{who} is past its renewal time ({leafRenewal:u}) without a successful renewal; it expires at {leaf.NotAfter:u}.", data);
        }

        if (root is not null && now >= RootRenewal(root))
        {
            return new(side, CertificateState.Degraded, $"The root {root.Subject} ({root.Thumbprint}) that signed the {side}'s certificate is past its renewal time ({RootRenewal(root):u}) without a rollover; it expires at {Utc(root.NotAfter):u}.", data);
        }

        return new(side, CertificateState.Healthy, $"{who} is valid until {leaf.NotAfter:u}, due for renewal at {leafRenewal:u}.", data);
    }

    private static DateTimeOffset RootRenewal(X509Certificate2 root)
    {
        var (notBefore, notAfter) = (Utc(root.NotBefore), Utc(root.NotAfter));
        return notBefore + TimeSpan.FromTicks((notAfter - notBefore).Ticks * 2 / 3);
    }

    private static DateTimeOffset Utc(DateTime time) => new(time.ToUniversalTime(), TimeSpan.Zero);
}
