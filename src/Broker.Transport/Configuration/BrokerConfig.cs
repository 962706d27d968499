using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Configuration;

/// <summary>
/// What this transport reads from the broker config file: the Broker resource's
/// <c>advanced.encryptInternalTraffic</c> and <c>advanced.internalCerts</c>. Immutable: the Broker resource is
/// fixed at deployment, so the file is read once, at start, and nothing reconfigures a running transport.
/// </summary>
/// <remarks>
/// Read it with <see cref="BrokerConfigFile.Load"/> or <see cref="BrokerConfigFile.Parse"/>, which validate it
/// (including <see cref="EnsureSupported"/>), then hand it to the options with <see cref="ApplyTo(TransportListenerOptions)"/>
/// and <see cref="ApplyTo(TransportConnectorOptions)"/>.
/// </remarks>
public sealed record BrokerConfig
{
    /// <summary>The configuration of a file that says nothing: encryption <see cref="EncryptInternalTraffic.Enabled"/>, <see cref="InternalCertsConfig.Default"/>.</summary>
    public static BrokerConfig Default { get; } = new();

    /// <summary>Creates the configuration.</summary>
    /// <param name="encryptInternalTraffic">Whether internal traffic is encrypted. Defaults to <see cref="EncryptInternalTraffic.Enabled"/>, as the Broker resource's.</param>
    /// <param name="internalCerts">The internal certificates' settings, or null when the file gives none (then <see cref="InternalCerts"/> holds <see cref="InternalCertsConfig.Default"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="encryptInternalTraffic"/> is not a defined value.</exception>
    public BrokerConfig(EncryptInternalTraffic encryptInternalTraffic = EncryptInternalTraffic.Enabled, InternalCertsConfig? internalCerts = null)
    {
        if (!Enum.IsDefined(encryptInternalTraffic))
        {
            throw new ArgumentOutOfRangeException(nameof(encryptInternalTraffic), encryptInternalTraffic, "Must be Enabled or Disabled.");
        }

        EncryptInternalTraffic = encryptInternalTraffic;
        InternalCerts = internalCerts ?? InternalCertsConfig.Default;
        InternalCertsSpecified = internalCerts is not null;
    }

    /// <summary>Whether internal traffic is encrypted (<c>advanced.encryptInternalTraffic</c>). Defaults to <see cref="EncryptInternalTraffic.Enabled"/>.</summary>
    public EncryptInternalTraffic EncryptInternalTraffic { get; }

    /// <summary>
    /// The internal certificates' settings (<c>advanced.internalCerts</c>): the file's when
    /// <see cref="InternalCertsSpecified"/>, otherwise <see cref="InternalCertsConfig.Default"/> (our defaults).
    /// They have no effect when <see cref="EncryptInternalTraffic"/> is <see cref="EncryptInternalTraffic.Disabled"/>.
    /// </summary>
    public InternalCertsConfig InternalCerts { get; }

    /// <summary>Whether the file gave <c>advanced.internalCerts</c>, rather than leaving <see cref="InternalCerts"/> to our defaults.</summary>
    public bool InternalCertsSpecified { get; }

    /// <summary>
    /// Refuses, at start, a configuration that is valid for the Broker resource but that this transport
    /// cannot serve: <see cref="PrivateKeyAlgorithm.Ed25519"/> with encryption enabled, since .NET's X509
    /// certificates and SslStream do not support Ed25519 keys. Without it the failure would come later, at
    /// the first certificate issuance or handshake.
    /// </summary>
    /// <remarks>Ed25519 with encryption <see cref="EncryptInternalTraffic.Disabled"/> passes: no certificate is ever made.</remarks>
    /// <exception cref="BrokerConfigException">The configuration asks for something unsupported; the message names the field and lists what works.</exception>
    public void EnsureSupported()
    {
        if (Unsupported(EncryptInternalTraffic, InternalCerts.Algorithm, "advanced.internalCerts.privateKey.algorithm") is { } error)
        {
            throw new BrokerConfigException([error], filePath: null);
        }
    }

    /// <summary>Sets the backend's options from this configuration: <see cref="TransportListenerOptions.EncryptInternalTraffic"/>.</summary>
    /// <remarks>The certificates (<see cref="InternalCerts"/>) are for the issuer, which sets <see cref="TransportListenerOptions.Certificates"/>; this method leaves that alone.</remarks>
    /// <param name="options">The options to set.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="BrokerConfigException">The configuration is unsupported (see <see cref="EnsureSupported"/>).</exception>
    public void ApplyTo(TransportListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureSupported();
        options.EncryptInternalTraffic = EncryptInternalTraffic;
    }

    /// <summary>Sets the frontend's options from this configuration: <see cref="TransportConnectorOptions.EncryptInternalTraffic"/>.</summary>
    /// <remarks>The certificates (<see cref="InternalCerts"/>) are for the issuer, which sets <see cref="TransportConnectorOptions.Certificates"/>; this method leaves that alone.</remarks>
    /// <param name="options">The options to set.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="BrokerConfigException">The configuration is unsupported (see <see cref="EnsureSupported"/>).</exception>
    public void ApplyTo(TransportConnectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureSupported();
        options.EncryptInternalTraffic = EncryptInternalTraffic;
    }

    /// <summary>The error for a configuration this transport cannot serve, at <paramref name="algorithmPath"/> (the file's path to <c>privateKey.algorithm</c>); null when it can.</summary>
    internal static BrokerConfigDiagnostic? Unsupported(EncryptInternalTraffic encryptInternalTraffic, PrivateKeyAlgorithm algorithm, string algorithmPath)
    {
        if (encryptInternalTraffic == EncryptInternalTraffic.Disabled || TlsKeyAlgorithms.CanServe(algorithm))
        {
            return null;
        }

        return new BrokerConfigDiagnostic(
            algorithmPath,
            $"{algorithm} is a valid value of the Broker resource, but this transport cannot use it: {TlsKeyAlgorithms.WhyNot(algorithm)}");
    }
}
