using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// A chain built against the internal trust bundle alone: custom root trust (never the system's roots), no
/// revocation check, no download of a missing issuer, at a given time. What a Secret folder's own leaf is checked
/// with before it is used, and what the peer verifier checks a peer with.
/// </summary>
internal static class PinnedChain
{
    /// <summary>
    /// The policy every chain of the transport starts from: custom root trust with an empty store (so it trusts
    /// nothing until roots are added), no revocation check, no download of a missing issuer. Also the policy
    /// SslStream builds its own chain with (<c>HandshakeFailure.NothingTrusted</c>).
    /// </summary>
    public static X509ChainPolicy CreatePolicy() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    /// <summary>A chain whose policy trusts <paramref name="trustBundle"/> alone, at <paramref name="at"/>; the caller disposes it (<see cref="Dispose"/>).</summary>
    public static X509Chain Create(X509Certificate2Collection trustBundle, X509Certificate2Collection intermediates, DateTimeOffset at)
    {
        var policy = CreatePolicy();
        policy.VerificationTime = at.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        policy.CustomTrustStore.AddRange(trustBundle);
        policy.ExtraStore.AddRange(intermediates);
        return new X509Chain { ChainPolicy = policy };
    }

    /// <summary>Disposes the chain and the certificates it made for its elements (never <paramref name="keep"/>).</summary>
    public static void Dispose(X509Chain chain, X509Certificate2 keep)
    {
        foreach (var element in chain.ChainElements)
        {
            if (!ReferenceEquals(element.Certificate, keep))
            {
                element.Certificate.Dispose();
            }
        }

        chain.Dispose();
    }
}
