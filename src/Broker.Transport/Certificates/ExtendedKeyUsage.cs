namespace Broker.Transport.Certificates;

/// <summary>
/// The extended key usage OIDs (RFC 5280 4.2.1.12) the transport issues and checks, in one place so the issuer
/// and the peer verifier cannot drift apart.
/// </summary>
internal static class ExtendedKeyUsage
{
    /// <summary>id-kp-serverAuth: a backend's leaf.</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>id-kp-clientAuth: a frontend's leaf.</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";
}
