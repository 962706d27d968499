namespace Broker.Transport.Security;

/// <summary>
/// Whether the traffic between frontend and backend is encrypted, named as the Broker resource names it
/// (<c>advanced.encryptInternalTraffic</c>). There is no third mode: nothing prefers TLS, nothing falls back.
/// </summary>
public enum EncryptInternalTraffic
{
    /// <summary>The default: TLS 1.3 with mutual authentication, trust pinned to the internal roots.</summary>
    Enabled = 0,

    /// <summary>Plaintext through the same API. Only for controlled, non-production test environments.</summary>
    Disabled = 1,
}
