namespace Broker.Transport.Certificates;

/// <summary>
/// Which private key algorithms this transport can serve, and the one sentence that says why another is
/// refused: the config file, the issuer's options and key creation all refuse Ed25519 with it.
/// </summary>
internal static class TlsKeyAlgorithms
{
    /// <summary>All of the Broker resource's algorithms but Ed25519, which .NET's X509 and SslStream cannot use.</summary>
    public static IReadOnlyList<PrivateKeyAlgorithm> Supported { get; } =
    [
        PrivateKeyAlgorithm.Ec256, PrivateKeyAlgorithm.Ec384, PrivateKeyAlgorithm.Ec521,
        PrivateKeyAlgorithm.Rsa2048, PrivateKeyAlgorithm.Rsa4096, PrivateKeyAlgorithm.Rsa8192,
    ];

    /// <summary>Whether a certificate with an <paramref name="algorithm"/> key can serve a TLS handshake here.</summary>
    public static bool CanServe(PrivateKeyAlgorithm algorithm) => Supported.Contains(algorithm);

    /// <summary>Why <paramref name="algorithm"/> is refused and what works instead: a sentence to end a message with.</summary>
    public static string WhyNot(PrivateKeyAlgorithm algorithm)
        => $".NET's X509 certificates and SslStream do not support {algorithm} keys. Use one of {string.Join(", ", Supported)}.";
}
