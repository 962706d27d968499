namespace Broker.Transport;

/// <summary>Why the transport asked a connection to drain (<see cref="Connections.TransportConnection.DrainRequested"/>).</summary>
public enum ConnectionDrainReason
{
    /// <summary>Not draining.</summary>
    None,

    /// <summary>The leaf this side presented in the handshake is about to expire.</summary>
    LocalCertificateExpiry,

    /// <summary>The leaf the peer presented in the handshake is about to expire.</summary>
    PeerCertificateExpiry,

    /// <summary>The root the peer's chain ends in is leaving, or has left, this side's trust bundle.</summary>
    PeerRootRemoved,

    /// <summary>The connection reached <c>MaxConnectionAge</c>.</summary>
    MaxConnectionAge,
}
