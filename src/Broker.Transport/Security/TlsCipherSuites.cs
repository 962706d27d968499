using System.Net.Security;

namespace Broker.Transport.Security;

/// <summary>
/// The TLS cipher suites a listener or connector may negotiate (their <c>CipherSuites</c> option): checked once
/// at start, and turned once into the <see cref="CipherSuitesPolicy"/> every handshake of that side shares.
/// </summary>
internal static class TlsCipherSuites
{
    /// <summary>TLS 1.3's three strong suites (RFC 8446, 9.1 and B.4), the only ones allowed unless AllowTls12 is set.</summary>
    public static readonly IReadOnlyList<TlsCipherSuite> Tls13 =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>Checks <paramref name="suites"/> (null: the default) with a message that names <paramref name="field"/>.</summary>
    /// <exception cref="ArgumentException">The list is empty, repeats a suite, or (without TLS 1.2) names one that is not TLS 1.3's.</exception>
    public static void Validate(IReadOnlyList<TlsCipherSuite>? suites, bool allowTls12, string field)
    {
        if (suites is null)
        {
            return;
        }

        if (suites.Count == 0)
        {
            throw new ArgumentException($"{field} is empty: no handshake could succeed. Leave it null for the transport's default.");
        }

        if (suites.Distinct().Count() != suites.Count)
        {
            throw new ArgumentException($"{field} names a suite twice ({string.Join(", ", suites)}).");
        }

        var others = suites.Where(s => !Tls13.Contains(s)).ToList();
        if (!allowTls12 && others.Count > 0)
        {
            throw new ArgumentException($"{field} holds {others[0]}, which is not a TLS 1.3 suite; with AllowTls12 off it may hold only {string.Join(", ", Tls13)}.");
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new ArgumentException($"{field} is set, but only OpenSSL (Linux) lets .NET choose cipher suites; leave it null on this platform.");
        }
    }

    /// <summary>The policy for <paramref name="suites"/>, once validated; null (OpenSSL's default) when they are null.</summary>
    public static CipherSuitesPolicy? Policy(IReadOnlyList<TlsCipherSuite>? suites)
        => suites is null || !OperatingSystem.IsLinux() ? null : new CipherSuitesPolicy(suites);
}
