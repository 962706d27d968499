namespace Broker.Transport;

/// <summary>Why a connection was refused before the application saw it.</summary>
public enum HandshakeFailureReason
{
    /// <summary>Something not sorted below; the message and inner exception say what.</summary>
    Other = 0,

    /// <summary>The handshake did not finish within the handshake timeout.</summary>
    Timeout,

    /// <summary>The peer's chain does not end in the internal trust bundle (another CA, or self-signed).</summary>
    UntrustedChain,

    /// <summary>The peer's certificate has expired.</summary>
    Expired,

    /// <summary>The peer's certificate is not valid yet (or the clocks disagree).</summary>
    NotYetValid,

    /// <summary>
    /// The peer's certificate is not a leaf fit for its role: it lacks the role's extended key usage (or has no EKU
    /// extension at all), it is a CA certificate, or its key usage allows signing certificates or CRLs, or not
    /// digital signatures.
    /// </summary>
    WrongKeyUsage,

    /// <summary>The peer's identity (its SAN names) is not the one expected or allowed.</summary>
    IdentityNotAllowed,

    /// <summary>The peer presented no certificate, but mutual authentication requires one.</summary>
    NoCertificate,

    /// <summary>The two sides share no protocol version (for example a TLS 1.2-only peer while 1.3 is required) or cipher suite.</summary>
    ProtocolVersion,

    /// <summary>The peer does not speak TLS: it is probably running with encryptInternalTraffic Disabled.</summary>
    PlaintextPeer,

    /// <summary>The peer speaks TLS while this side is plaintext: it is probably running with encryptInternalTraffic Enabled.</summary>
    TlsPeer,

    /// <summary>The peer closed or reset the connection during the handshake.</summary>
    PeerClosed,

    /// <summary>The peer refused this side's certificate or identity (it sent a TLS alert).</summary>
    RejectedByPeer,

    /// <summary>This side has no usable certificate to present.</summary>
    LocalCertificateUnavailable,

    /// <summary>
    /// The peer's handshake bytes are TLS in form but broken: a record longer than TLS allows, a corrupted
    /// record header, a handshake message larger than the limit. A hostile or broken peer, not a configuration mismatch.
    /// </summary>
    MalformedHandshake,
}

/// <summary>A connection was refused during setup; <see cref="Reason"/> sorts why.</summary>
public class HandshakeException : TransportException
{
    /// <summary>Creates the exception with a reason and a message that says what to check.</summary>
    public HandshakeException(HandshakeFailureReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Creates the exception with a message.</summary>
    public HandshakeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public HandshakeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public HandshakeException()
        : base("The connection was refused during its handshake.")
    {
    }

    /// <summary>Why the connection was refused.</summary>
    public HandshakeFailureReason Reason { get; }
}

/// <summary>
/// The two sides disagree on <c>encryptInternalTraffic</c>: one speaks TLS and the other plaintext. Nothing
/// downgrades: the connection is closed, and this error says which side is probably misconfigured.
/// </summary>
public sealed class EncryptionMismatchException : HandshakeException
{
    /// <summary>Creates the exception; <paramref name="reason"/> is <see cref="HandshakeFailureReason.PlaintextPeer"/> or <see cref="HandshakeFailureReason.TlsPeer"/>.</summary>
    public EncryptionMismatchException(HandshakeFailureReason reason, string message, Exception? innerException = null)
        : base(reason, message, innerException)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public EncryptionMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public EncryptionMismatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public EncryptionMismatchException()
        : base("The peer's encryptInternalTraffic setting does not match this side's.")
    {
    }
}
