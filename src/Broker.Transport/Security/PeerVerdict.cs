namespace Broker.Transport.Security;

/// <summary>The role a peer plays, which decides the extended key usage its leaf must carry.</summary>
internal enum PeerRole
{
    /// <summary>A backend (the TLS server): server authentication.</summary>
    Backend,

    /// <summary>A frontend (the TLS client): client authentication.</summary>
    Frontend,
}

/// <summary>
/// Who may be the peer: for a backend, the one identity the frontend expects (ServerIdentity, or the host it
/// connected to), matched as TLS clients match servers; for a frontend, the allow-list (exact identities; empty
/// means any) and the application's own callback.
/// </summary>
internal sealed class PeerIdentityPolicy
{
    private PeerIdentityPolicy(PeerIdentity? expectedBackend, IReadOnlyList<PeerIdentity> allowedFrontends, Func<PeerCertificateInfo, bool>? authorize)
    {
        ExpectedBackend = expectedBackend;
        AllowedFrontends = allowedFrontends;
        Authorize = authorize;
    }

    /// <summary>The identity a backend's certificate must carry; null for a policy about frontends.</summary>
    public PeerIdentity? ExpectedBackend { get; }

    /// <summary>The frontend identities accepted; empty: any.</summary>
    public IReadOnlyList<PeerIdentity> AllowedFrontends { get; }

    /// <summary>The application's callback (<c>AuthorizeClient</c>), run after the allow-list.</summary>
    public Func<PeerCertificateInfo, bool>? Authorize { get; }

    /// <summary>A frontend's policy for the backend it connects to.</summary>
    public static PeerIdentityPolicy ForBackend(PeerIdentity expected) => new(expected, [], null);

    /// <summary>A backend's policy for the frontends it accepts.</summary>
    public static PeerIdentityPolicy ForFrontends(IReadOnlyList<PeerIdentity> allowed, Func<PeerCertificateInfo, bool>? authorize) => new(null, allowed, authorize);
}

/// <summary>What <see cref="PeerVerifier.Verify"/> decided: the peer's accepted identity, or why it was refused.</summary>
internal sealed class PeerVerdict
{
    private PeerVerdict(PeerCertificateInfo? identity, HandshakeFailureReason reason, string? message)
    {
        Identity = identity;
        Reason = reason;
        Message = message;
    }

    /// <summary>Whether the peer may connect.</summary>
    public bool IsAccepted => Message is null;

    /// <summary>The peer's certificate, when it presented one (also on a refusal for its identity).</summary>
    public PeerCertificateInfo? Identity { get; }

    /// <summary>Why the peer was refused; meaningless when accepted.</summary>
    public HandshakeFailureReason Reason { get; }

    /// <summary>What to tell the operator; null when accepted. Peer-controlled text in it is escaped.</summary>
    public string? Message { get; }

    public static PeerVerdict Accept(PeerCertificateInfo identity) => new(identity, HandshakeFailureReason.Other, null);

    public static PeerVerdict Refuse(HandshakeFailureReason reason, string message, PeerCertificateInfo? identity = null) => new(identity, reason, message);

    /// <inheritdoc />
    public override string ToString() => IsAccepted ? $"accepted {Identity}" : $"refused ({Reason}): {Message}";
}
