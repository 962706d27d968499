using System.Net.Security;
using System.Security.Authentication;

namespace Broker.Transport.Security;

/// <summary>What a connection negotiated.</summary>
public sealed class ConnectionSecurityInfo
{
    /// <summary>The description of a plaintext connection.</summary>
    public static readonly ConnectionSecurityInfo Plaintext = new(false, SslProtocols.None, null, null, null, null);

    internal ConnectionSecurityInfo(bool isEncrypted, SslProtocols protocol, TlsCipherSuite? cipherSuite, PeerCertificateInfo? peerCertificate, long? localCertificateVersion, DateTimeOffset? localCertificateNotAfter)
    {
        LocalCertificateNotAfter = localCertificateNotAfter;
        IsEncrypted = isEncrypted;
        Protocol = protocol;
        CipherSuite = cipherSuite;
        PeerCertificate = peerCertificate;
        LocalCertificateVersion = localCertificateVersion;
    }

    /// <summary>Whether the bytes on the wire are encrypted.</summary>
    public bool IsEncrypted { get; }

    /// <summary>The TLS version; <see cref="SslProtocols.None"/> for plaintext.</summary>
    public SslProtocols Protocol { get; }

    /// <summary>The negotiated cipher suite; null for plaintext.</summary>
    public TlsCipherSuite? CipherSuite { get; }

    /// <summary>The certificate the peer presented; null for plaintext.</summary>
    public PeerCertificateInfo? PeerCertificate { get; }

    /// <summary>The version of this side's credentials the handshake used; null for plaintext.</summary>
    public long? LocalCertificateVersion { get; }

    /// <summary>When the leaf this side presented stops being valid; null for plaintext. The connection ends before it does.</summary>
    public DateTimeOffset? LocalCertificateNotAfter { get; }

    /// <inheritdoc />
    public override string ToString() => IsEncrypted ? $"{Protocol} {CipherSuite} peer {PeerCertificate}" : "plaintext";
}
