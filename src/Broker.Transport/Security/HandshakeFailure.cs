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
    /// The chain policy SslStream builds its own chain with before it calls the validation callback. It trusts
    /// nothing, so that chain costs little (no signature is checked); the peer is judged in the callback by
    /// <see cref="PeerVerifier"/>, against the trust bundle of the moment. Downloads stay off: SslStream would
    /// otherwise fetch a missing issuer from an address the peer's certificate names. Shared: SslStream clones it.
    /// </summary>
    public static readonly X509ChainPolicy NothingTrusted = PinnedChain.CreatePolicy();

    /// <summary>
    /// Judges the peer SslStream's validation callback reports (full and resumed handshakes alike): its certificate,
    /// the intermediates it sent, against <paramref name="source"/>'s trust bundle of now. Records a refusal and the
    /// peer's identity; returns whether the peer is accepted.
    /// </summary>
    public bool Verify(X509Certificate? certificate, X509Chain? chain, ICertificateSource source, PeerRole role, PeerIdentityPolicy identity, DateTimeOffset now)
    {
        var leaf = certificate is null ? null : certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        X509Certificate2Collection trust;
        try
        {
            trust = source.GetTrustBundle();
        }
        catch (CertificateUnavailableException ex)
        {
            return Record(HandshakeFailureReason.LocalCertificateUnavailable, $"This side has no trust bundle to check the {(role == PeerRole.Backend ? "backend" : "frontend")} against: {ex.Message}");
        }

        // What the peer sent after its leaf: SslStream puts it in the chain's extra store.
        var sent = chain?.ChainPolicy.ExtraStore ?? [];
        var verdict = PeerVerifier.Verify(leaf, sent, trust, role, identity, now);
        Peer = verdict.Identity;
        return verdict.IsAccepted || Record(verdict.Reason, verdict.Message!);
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
            return new HandshakeException(HandshakeFailureReason.RejectedByPeer, $"The {peerRole} at {peer} refused the handshake (TLS alert): check that this side's certificate chains to the peer's trust bundle, has the EKU for its role and carries an identity the peer allows, or they share no cipher suite (CipherSuites). ({text})", ex);
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

        // A peer's alert or a certificate's text can end up in a library's message: escaped like any peer text.
        return CertificateText.Escape(string.Join(" <- ", parts.Distinct()), 1024);
    }

    private static bool Contains(string text, params string[] needles)
        => needles.Any(n => text.Contains(n, StringComparison.OrdinalIgnoreCase));

    /// <summary>The protocols to enable.</summary>
    public static SslProtocols Protocols(bool allowTls12) => allowTls12 ? SslProtocols.Tls13 | SslProtocols.Tls12 : SslProtocols.Tls13;
}
