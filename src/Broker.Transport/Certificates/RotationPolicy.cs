namespace Broker.Transport.Certificates;

/// <summary>
/// What happens to the private key when an internal certificate is renewed: the Broker resource's
/// <c>internalCerts.privateKey.rotationPolicy</c>, handed to cert-manager as the Certificate's
/// <c>privateKey.rotationPolicy</c>.
/// </summary>
public enum RotationPolicy
{
    /// <summary>A new private key at each renewal. Our default, as cert-manager's since v1.18.</summary>
    Always = 0,

    /// <summary>The existing private key is kept and reused for every renewal.</summary>
    Never = 1,
}
