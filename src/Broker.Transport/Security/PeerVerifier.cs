using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Security;

/// <summary>
/// The one place a peer is judged, on both sides: a pure function of the peer's chain, the trust bundle read
/// at verification time, the role the peer plays, the identity policy and the time. The TLS client and server
/// only call it from SslStream's validation callback, for full and resumed handshakes alike. (go-spiffe's
/// <c>x509svid.Verify</c> followed by its <c>tlsconfig.Authorizer</c>.)
/// </summary>
/// <remarks>
/// The rules, in the order they are checked (the README's "What Enabled checks" states them):
/// <list type="number">
/// <item>a certificate was presented;</item>
/// <item>the chain (the leaf, then what the peer sent) ends in the trust bundle, every certificate in it valid at
/// the time; nothing else is trusted, never the system's roots; no revocation check, no download;</item>
/// <item>the leaf is a leaf: not a CA (basicConstraints CA:TRUE), no keyCertSign or cRLSign, and digitalSignature
/// when it has a KeyUsage extension;</item>
/// <item>the leaf carries the role's extended key usage (serverAuth for a backend, clientAuth for a frontend), and
/// no issuer in its chain restricts it away; a leaf without the extension is refused (cert-manager issues none
/// when a Certificate has no <c>usages</c>);</item>
/// <item>the identity: a backend must carry the expected identity (RFC 6125 single-label wildcards allowed); a
/// frontend one of the allowed identities, exactly (a wildcard name never satisfies an allow-list), then the
/// application's callback.</item>
/// </list>
/// </remarks>
internal static class PeerVerifier
{
    /// <summary>How many of the trust bundle's roots a refusal names before "and N more".</summary>
    private const int RootsNamed = 3;

    /// <summary>Judges a peer.</summary>
    /// <param name="leaf">The certificate the peer presented; null when it presented none.</param>
    /// <param name="intermediates">The other certificates the peer sent (never trusted by themselves).</param>
    /// <param name="trustBundle">The roots the chain must end in, as the source holds them now.</param>
    /// <param name="role">The role the peer plays.</param>
    /// <param name="identity">Who may be the peer.</param>
    /// <param name="now">The time the certificates must be valid at.</param>
    public static PeerVerdict Verify(
        X509Certificate2? leaf,
        X509Certificate2Collection intermediates,
        X509Certificate2Collection trustBundle,
        PeerRole role,
        PeerIdentityPolicy identity,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(intermediates);
        ArgumentNullException.ThrowIfNull(trustBundle);
        ArgumentNullException.ThrowIfNull(identity);
        var peer = role == PeerRole.Backend ? "backend" : "frontend";
        if (leaf is null)
        {
            return PeerVerdict.Refuse(
                HandshakeFailureReason.NoCertificate,
                role == PeerRole.Backend ? "The backend presented no certificate." : "The frontend presented no client certificate; mutual TLS requires one.");
        }

        var usage = role == PeerRole.Backend ? new Usage(ExtendedKeyUsage.ServerAuth, "server authentication", "server auth") : new Usage(ExtendedKeyUsage.ClientAuth, "client authentication", "client auth");
        var who = $"The {peer}'s certificate {CertificateText.Escape(leaf.Subject)}";
        var refusal = CheckChain(leaf, intermediates, trustBundle, usage, now, who, out var root) ?? CheckLeaf(leaf, usage, who);
        if (refusal is not null)
        {
            return refusal;
        }

        var info = PeerCertificateInfo.From(leaf, root);
        return role == PeerRole.Backend ? CheckBackendIdentity(info, identity) : CheckFrontendIdentity(info, identity);
    }

    /// <summary>The extended key usage a role needs: its OID, its name, and cert-manager's name for it.</summary>
    private readonly record struct Usage(string Oid, string Name, string CertManagerName)
    {
        public override string ToString() => $"{Name}, {Oid}";
    }

    private static PeerVerdict? CheckLeaf(X509Certificate2 leaf, Usage usage, string who)
    {
        var extensions = leaf.Extensions;
        if (extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority))
        {
            return PeerVerdict.Refuse(HandshakeFailureReason.WrongKeyUsage, $"{who} is a CA certificate (basicConstraints CA:TRUE); a peer must present a leaf, never a certificate that may issue others.");
        }

        if (extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } keyUsage)
        {
            if ((keyUsage.KeyUsages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
            {
                return PeerVerdict.Refuse(HandshakeFailureReason.WrongKeyUsage, $"{who} may sign certificates or CRLs (KeyUsage {keyUsage.KeyUsages}); a peer's leaf must not.");
            }

            if ((keyUsage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0)
            {
                return PeerVerdict.Refuse(HandshakeFailureReason.WrongKeyUsage, $"{who} has a KeyUsage extension without digitalSignature (KeyUsage {keyUsage.KeyUsages}); TLS 1.3 signs with the leaf's key, so it must allow it.");
            }
        }

        var eku = extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        if (eku is null)
        {
            return PeerVerdict.Refuse(
                HandshakeFailureReason.WrongKeyUsage,
                $"{who} has no extended key usage extension; its role needs {usage}. cert-manager issues none when the Certificate has no usages: "
                + $"set them, with '{usage.CertManagerName}' among them (usages: [digital signature, {usage.CertManagerName}]).");
        }

        foreach (var oid in eku.EnhancedKeyUsages)
        {
            if (oid.Value == usage.Oid)
            {
                return null;
            }
        }

        return LacksUsage(who, usage);
    }

    private static PeerVerdict LacksUsage(string who, Usage usage) => PeerVerdict.Refuse(
        HandshakeFailureReason.WrongKeyUsage,
        $"{who} lacks the extended key usage its role needs ({usage}); with cert-manager, add '{usage.CertManagerName}' to the Certificate's usages.");

    private static PeerVerdict CheckBackendIdentity(PeerCertificateInfo info, PeerIdentityPolicy policy)
    {
        var expected = policy.ExpectedBackend ?? throw new ArgumentException("A backend's identity policy names the identity it must carry.", nameof(policy));
        return expected.IsServedBy(info)
            ? PeerVerdict.Accept(info)
            : PeerVerdict.Refuse(HandshakeFailureReason.IdentityNotAllowed, $"The backend's certificate {info} does not carry the expected identity '{CertificateText.Escape(expected.Text)}' (ServerIdentity, or the host connected to).", info);
    }

    private static PeerVerdict CheckFrontendIdentity(PeerCertificateInfo info, PeerIdentityPolicy policy)
    {
        var allowed = policy.AllowedFrontends;
        if (allowed.Count > 0 && !allowed.Any(a => a.IsCarriedExactlyBy(info)))
        {
            return PeerVerdict.Refuse(HandshakeFailureReason.IdentityNotAllowed, $"The frontend's certificate {info} carries none of the allowed identities ({CertificateText.List(allowed.Select(a => a.Text))}); they match exactly, and a wildcard name never satisfies one.", info);
        }

        if (policy.Authorize is { } authorize)
        {
            bool authorized;
            try
            {
                authorized = authorize(info);
            }
#pragma warning disable CA1031 // The application's callback failed: the peer is refused for it, and the message says so.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return PeerVerdict.Refuse(HandshakeFailureReason.IdentityNotAllowed, $"The frontend's certificate {info} was refused: the AuthorizeClient callback threw {ex.GetType().Name}: {ex.Message}", info);
            }

            if (!authorized)
            {
                return PeerVerdict.Refuse(HandshakeFailureReason.IdentityNotAllowed, $"The frontend's certificate {info} was refused by the AuthorizeClient callback.", info);
            }
        }

        return PeerVerdict.Accept(info);
    }

    /// <summary>Whether two certificates are the same one.</summary>
    private static bool Same(X509Certificate2 a, X509Certificate2 b) => a.RawDataMemory.Span.SequenceEqual(b.RawDataMemory.Span);

    /// <summary>Whether <paramref name="certificate"/> names itself as its issuer.</summary>
    private static bool IsSelfIssued(X509Certificate2 certificate)
        => certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    /// <summary>The roots named in a refusal: a few, then how many more.</summary>
    private static string Roots(X509Certificate2Collection trustBundle)
        => CertificateText.List(trustBundle.Select(r => r.Subject), "; ", RootsNamed);

    /// <summary>The chain failure as a sentence, or null when it holds; then <paramref name="root"/> is the root it ended in.</summary>
    private static PeerVerdict? CheckChain(X509Certificate2 leaf, X509Certificate2Collection intermediates, X509Certificate2Collection trustBundle, Usage usage, DateTimeOffset now, string who, out ChainRoot? root)
    {
        root = null;
        if (trustBundle.Count == 0)
        {
            return PeerVerdict.Refuse(HandshakeFailureReason.UntrustedChain, $"{who} cannot be trusted: this side's trust bundle is empty.");
        }

        var chain = PinnedChain.Create(trustBundle, intermediates, now);

        // Every issuer with an EKU extension must allow the role's usage too (a certificate without one allows
        // any); the leaf's own extension is checked apart, since a missing one must be refused.
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage.Oid));
        try
        {
            if (chain.Build(leaf))
            {
                // Kept as text: the chain's certificates are disposed below, and the connection outlives the bundle's.
                root = ChainRoot.Of(chain.ChainElements[^1].Certificate);
                return null;
            }

            var flags = X509ChainStatusFlags.NoError;
            X509Certificate2? expired = null;
            foreach (var element in chain.ChainElements)
            {
                foreach (var status in element.ChainElementStatus)
                {
                    if (status.Status == X509ChainStatusFlags.NotTimeValid && expired is null)
                    {
                        expired = element.Certificate;
                    }

                    flags |= status.Status;
                }
            }

            foreach (var status in chain.ChainStatus)
            {
                flags |= status.Status;
            }

            return Sort(flags, leaf, expired, trustBundle, usage, now, who);
        }
        finally
        {
            PinnedChain.Dispose(chain, leaf);
        }
    }

    private static PeerVerdict Sort(X509ChainStatusFlags flags, X509Certificate2 leaf, X509Certificate2? expired, X509Certificate2Collection trustBundle, Usage usage, DateTimeOffset now, string who)
    {
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            var culprit = expired ?? leaf;
            var it = Same(culprit, leaf) ? "it" : CertificateText.Escape(culprit.Subject);
            return culprit.NotAfter.ToUniversalTime() < now.UtcDateTime
                ? PeerVerdict.Refuse(HandshakeFailureReason.Expired, $"{who} has expired: {it} was valid until {culprit.NotAfter.ToUniversalTime():u}. Renew it.")
                : PeerVerdict.Refuse(HandshakeFailureReason.NotYetValid, $"{who} is not valid yet: {it} is valid from {culprit.NotBefore.ToUniversalTime():u} (check both machines' clocks).");
        }

        const X509ChainStatusFlags Untrusted = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid
            | X509ChainStatusFlags.Cyclic | X509ChainStatusFlags.InvalidBasicConstraints | X509ChainStatusFlags.ExplicitDistrust;
        if ((flags & Untrusted) != 0)
        {
            var selfSigned = IsSelfIssued(leaf) ? " It is self-signed." : string.Empty;
            var notCa = (flags & X509ChainStatusFlags.InvalidBasicConstraints) != 0 ? " A certificate in its chain that signed another is not a CA." : string.Empty;
            return PeerVerdict.Refuse(HandshakeFailureReason.UntrustedChain, $"{who}, issued by {CertificateText.Escape(leaf.Issuer)}, does not chain to the internal trust bundle ({Roots(trustBundle)}).{selfSigned}{notCa} Only the internal CA is trusted; the system's roots never are.");
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            var leafAllows = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } eku
                || eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == usage.Oid);
            return leafAllows
                ? PeerVerdict.Refuse(HandshakeFailureReason.WrongKeyUsage, $"{who} chains through an issuer whose extended key usage excludes its role's ({usage}).")
                : LacksUsage(who, usage);
        }

        return PeerVerdict.Refuse(HandshakeFailureReason.Other, $"{who} failed validation: {flags}.");
    }
}
