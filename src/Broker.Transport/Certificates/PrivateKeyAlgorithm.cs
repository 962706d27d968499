namespace Broker.Transport.Certificates;

/// <summary>The private key algorithms of the Broker resource's <c>internalCerts.privateKey.algorithm</c>.</summary>
public enum PrivateKeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256. Our default: fast handshakes, small certificates.</summary>
    Ec256 = 0,

    /// <summary>ECDSA on NIST P-384.</summary>
    Ec384,

    /// <summary>ECDSA on NIST P-521.</summary>
    Ec521,

    /// <summary>Ed25519. A valid value of the Broker resource that .NET's X509 and SslStream cannot serve; refused at start.</summary>
    Ed25519,

    /// <summary>RSA, 2048-bit.</summary>
    Rsa2048,

    /// <summary>RSA, 4096-bit.</summary>
    Rsa4096,

    /// <summary>RSA, 8192-bit (slow to generate and to handshake).</summary>
    Rsa8192,
}
