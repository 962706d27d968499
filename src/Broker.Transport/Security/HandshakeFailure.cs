using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Security;

/// <summary>
/// Sorts what went wrong in a handshake into a <see cref="HandshakeException"/> whose message says what
/// to check. The validation callback records the precise reason first; an exception is sorted only when
/// it did not.
/// </summary>
internal sealed class HandshakeFailure
{
    public HandshakeException? Recorded { get; private set; }

    public PeerCertificateInfo? Peer { get; set; }

    public bool Record(HandshakeFailureReason reason, string message)
    {
        Recorded ??= new HandshakeException(reason, message);
        return false;
    }

    /// <summary>
    /// When the peer's chain failed against the trust bundle this handshake started with, and the source has
    /// published newer credentials since, checks it again against the bundle of now; returns those credentials
    /// when the chain holds there, else null.
    /// </summary>
    /// <remarks>
    /// Each side takes its credentials at the start of its part of the handshake: the frontend before its
    /// ClientHello, the backend only once it has received it. A root rollover in between has the backend present a
    /// leaf from the new root to a frontend whose bundle was taken a moment before the issuer trusted that root.
    /// The issuer adds the new root to every bundle before it hands out a leaf from it, so the bundle of now,
    /// read after the peer's certificate arrived, holds it.
    /// </remarks>
    public static CertificateCredentials? TrustedNow(ICertificateSource source, CertificateCredentials started, X509Certificate2 certificate, X509Chain? chain, bool peerIsServer)
    {
        CertificateCredentials now;
        try
        {
            now = source.GetCurrent();
        }
        catch (CertificateUnavailableException)
        {
            return null;
        }

        if (now.Version == started.Version)
        {
            return null;
        }

        using var again = new X509Chain();
        again.ChainPolicy = (peerIsServer ? now.ClientPolicy : now.ServerPolicy).Clone();
        if (chain is not null)
        {
            // The intermediates the peer sent, which SslStream put there.
            again.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }

        return again.Build(certificate) ? now : null;
    }

    /// <summary>
    /// Checks a peer's chain as <see cref="CheckChain(string, X509Certificate2, X509Chain?, SslPolicyErrors, X509Certificate2Collection, string)"/>
    /// does, against the trust bundle of <paramref name="started"/>, or of now when the chain holds only there
    /// (see <see cref="TrustedNow"/>).
    /// </summary>
    public bool CheckChain(string peerRole, ICertificateSource source, CertificateCredentials started, X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors, bool peerIsServer, string requiredUsage)
    {
        var trust = started.TrustBundle;
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0
            && TrustedNow(source, started, certificate, chain, peerIsServer) is { } now)
        {
            // The peer's leaf comes from a root this side began to trust after the handshake started.
            errors &= ~SslPolicyErrors.RemoteCertificateChainErrors;
            trust = now.TrustBundle;
        }

        return CheckChain(peerRole, certificate, chain, errors, trust, requiredUsage);
    }

    /// <summary>Checks a peer's chain as SslStream built it against the pinned policy; records and returns false on failure.</summary>
    public bool CheckChain(string peerRole, X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection trustBundle, string requiredUsage)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return Record(HandshakeFailureReason.NoCertificate, $"The {peerRole} presented no certificate; mutual TLS requires one.");
        }

        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0)
        {
            return true;
        }

        var flags = X509ChainStatusFlags.NoError;
        X509Certificate2 culprit = certificate;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                foreach (var status in element.ChainElementStatus)
                {
                    if (status.Status != X509ChainStatusFlags.NoError && (flags & status.Status) == 0 && status.Status == X509ChainStatusFlags.NotTimeValid)
                    {
                        culprit = element.Certificate;
                    }

                    flags |= status.Status;
                }
            }
        }

        var who = $"The {peerRole}'s certificate {certificate.Subject}";
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            var now = DateTime.UtcNow;
            return culprit.NotAfter.ToUniversalTime() < now
                ? Record(HandshakeFailureReason.Expired, $"{who} has expired: {(culprit == certificate ? "it" : culprit.Subject)} was valid until {culprit.NotAfter.ToUniversalTime():u}. Renew it.")
                : Record(HandshakeFailureReason.NotYetValid, $"{who} is not valid yet: {(culprit == certificate ? "it" : culprit.Subject)} is valid from {culprit.NotBefore.ToUniversalTime():u} (check both machines' clocks).");
        }

        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid)) != 0)
        {
            var roots = string.Join("; ", trustBundle.Select(r => r.Subject));
            var selfSigned = certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) ? " It is self-signed." : string.Empty;
            return Record(HandshakeFailureReason.UntrustedChain, $"{who}, issued by {certificate.Issuer}, does not chain to the internal trust bundle ({roots}).{selfSigned} Only the internal CA is trusted; the system's roots never are.");
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            return Record(HandshakeFailureReason.WrongKeyUsage, $"{who} lacks the extended key usage its role needs ({requiredUsage}).");
        }

        return Record(HandshakeFailureReason.Other, $"{who} failed validation: {flags}.");
    }

    /// <summary>The exception to throw for a failed handshake.</summary>
    public HandshakeException Sort(Exception ex, string peerRole, string peer, bool timedOut, TimeSpan timeout)
    {
        if (timedOut)
        {
            return new HandshakeException(HandshakeFailureReason.Timeout, $"The handshake with the {peerRole} at {peer} did not finish within {timeout.TotalSeconds:0.###} s (HandshakeTimeout); the connection was dropped.", ex);
        }

        if (Recorded is not null)
        {
            return new HandshakeException(Recorded.Reason, Recorded.Message, ex);
        }

        if (ex is HandshakeException handshake)
        {
            return handshake;
        }

        var text = Describe(ex);
        if (Contains(text, "unsupported protocol", "protocol version", "no protocols available", "version too low", "no shared cipher", "no suitable"))
        {
            return new HandshakeException(HandshakeFailureReason.ProtocolVersion, $"The {peerRole} at {peer} and this side share no TLS version or cipher suite (this side requires TLS 1.3 unless AllowTls12 is set): {text}", ex);
        }

        if (Contains(text, "wrong version number", "packet length too long", "record layer failure", "http request", "unexpected message"))
        {
            return new EncryptionMismatchException(HandshakeFailureReason.PlaintextPeer, $"The {peerRole} at {peer} answered with bytes that are not TLS: it is probably running with encryptInternalTraffic Disabled while this side has it Enabled. Nothing was downgraded. ({text})", ex);
        }

        if (Contains(text, "corrupted frame", "excessive message size", "record overflow", "decode error", "bad extension", "length mismatch", "bad record"))
        {
            return new HandshakeException(HandshakeFailureReason.MalformedHandshake, $"The {peerRole} at {peer} sent a malformed TLS handshake; the connection was dropped. A broken or hostile peer, not a configuration mismatch: {text}", ex);
        }

        if (Contains(text, "alert", "certificate required", "bad certificate", "unknown ca", "access denied", "certificate unknown", "handshake failure"))
        {
            return new HandshakeException(HandshakeFailureReason.RejectedByPeer, $"The {peerRole} at {peer} refused the handshake (TLS alert): check that this side's certificate chains to the peer's trust bundle, has the EKU for its role and carries an identity the peer allows. ({text})", ex);
        }

        if (IsClosed(ex))
        {
            return new HandshakeException(HandshakeFailureReason.PeerClosed, $"The {peerRole} at {peer} closed the connection during the TLS handshake. If it runs with encryptInternalTraffic Disabled, it closes every TLS connection at once; otherwise it refused this side. ({text})", ex);
        }

        return new HandshakeException(HandshakeFailureReason.Other, $"The TLS handshake with the {peerRole} at {peer} failed: {text}", ex);
    }

    private static bool IsClosed(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException or EndOfStreamException || e.Message.Contains("EOF", StringComparison.Ordinal) || e.Message.Contains("0 bytes", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            parts.Add(e.Message);
        }

        return string.Join(" <- ", parts.Distinct());
    }

    private static bool Contains(string text, params string[] needles)
        => needles.Any(n => text.Contains(n, StringComparison.OrdinalIgnoreCase));

    /// <summary>The protocols to enable.</summary>
    public static SslProtocols Protocols(bool allowTls12) => allowTls12 ? SslProtocols.Tls13 | SslProtocols.Tls12 : SslProtocols.Tls13;
}
