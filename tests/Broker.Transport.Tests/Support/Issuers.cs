using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// Starts the embedded issuer on a fake clock and reads its certificates' times. Only the clock is fake:
/// the issuer, its keys, its certificates and the chain checks are the real ones.
/// </summary>
internal static class Issuers
{
    /// <summary>A whole second, so that the issuer's second-truncated times equal the clock's.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock(DateTimeOffset? start = null) => new(start ?? Epoch);

    /// <summary>
    /// A fake clock at the real now (to the second), or <paramref name="behind"/> it, for tests whose certificates
    /// must also pass SslStream's real-time checks: a leaf issued at fake time T is valid from T in real time too.
    /// </summary>
    public static FakeTimeProvider ClockAtRealNow(TimeSpan behind = default)
    {
        var now = DateTimeOffset.UtcNow - behind;
        return new FakeTimeProvider(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)));
    }

    public static InternalIssuerOptions Options(
        TimeProvider time,
        TimeSpan duration,
        TimeSpan? renewBefore = null,
        RotationPolicy rotation = RotationPolicy.Always,
        double jitter = 0,
        TimeSpan? caDuration = null) => new()
        {
            Policy = new InternalCertsConfig(duration, renewBefore, PrivateKeyAlgorithm.Ec256, rotation),
            CaDuration = caDuration,
            RenewalJitter = jitter,
            Environment = new TransportEnvironment { TimeProvider = time },
        };

    public static InternalIssuer Start(
        TimeProvider time,
        TimeSpan duration,
        TimeSpan? renewBefore = null,
        RotationPolicy rotation = RotationPolicy.Always,
        double jitter = 0,
        TimeSpan? caDuration = null)
        => InternalIssuer.Start(Options(time, duration, renewBefore, rotation, jitter, caDuration));

    public static DateTimeOffset NotBefore(X509Certificate2 certificate) => new(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    public static DateTimeOffset NotAfter(X509Certificate2 certificate) => new(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>
    /// cert-manager's renewal time, written independently of the library: <c>notAfter - renewBefore</c> when
    /// renewBefore is set and shorter than the issued lifetime, else 2/3 of the lifetime; in whole seconds.
    /// </summary>
    public static DateTimeOffset CertManagerRenewal(X509Certificate2 leaf, TimeSpan? renewBefore)
    {
        var notBefore = NotBefore(leaf);
        var notAfter = NotAfter(leaf);
        var lifetimeSeconds = (long)(notAfter - notBefore).TotalSeconds;
        if (renewBefore is { } before && before < notAfter - notBefore)
        {
            var renewal = notAfter - before;
            return renewal.AddTicks(-(renewal.Ticks % TimeSpan.TicksPerSecond));
        }

        // notAfter - lifetime/3 truncated to the second is notBefore + floor(2 * lifetime / 3) seconds.
        return notBefore.AddSeconds(2 * lifetimeSeconds / 3);
    }

    /// <summary>Whether <paramref name="leaf"/> chains to one of <paramref name="roots"/> alone, at <paramref name="at"/>.</summary>
    public static bool ChainsTo(X509Certificate2 leaf, X509Certificate2Collection roots, DateTimeOffset at, X509Certificate2Collection? intermediates = null)
        => ChainStatus(leaf, roots, at, intermediates) is null;

    /// <summary>Null when <paramref name="leaf"/> chains to <paramref name="roots"/> at <paramref name="at"/>; else what went wrong.</summary>
    public static string? ChainStatus(X509Certificate2 leaf, X509Certificate2Collection roots, DateTimeOffset at, X509Certificate2Collection? intermediates = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }

        return chain.Build(leaf)
            ? null
            : $"{leaf.Subject} (issued by {leaf.Issuer}, {leaf.NotBefore:u}..{leaf.NotAfter:u}) at {at:u}: {string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct())}";
    }
}
