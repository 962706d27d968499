using Broker.Transport.Connections;

namespace Broker.Transport.Hosting;

/// <summary>
/// What <c>AddBrokerTransport</c> sets up, bound from configuration (by default the <c>BrokerTransport</c>
/// section) or set in code. Validated once, at start (<c>ValidateOnStart</c>).
/// </summary>
/// <remarks>
/// The Broker resource's settings (<c>advanced.encryptInternalTraffic</c>, <c>advanced.internalCerts</c>) come
/// from the broker config file (<see cref="ConfigFile"/>) or from the same JSON shape inline
/// (<see cref="BrokerConfig"/>, bound from the <c>Broker</c> subsection), and both are read by the config
/// file's own parser, so a mistake gets the same message either way. Neither given: encryption Enabled and
/// our <c>internalCerts</c> defaults.
/// </remarks>
public sealed class BrokerTransportOptions
{
    /// <summary>The broker config file (<c>--broker-config-file</c>), read once at start. Defaults to null.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>
    /// The broker config as JSON text in the config file's shape, such as
    /// <c>{"advanced": {"encryptInternalTraffic": "Enabled"}}</c>. Binding fills it from the <c>Broker</c>
    /// subsection. Defaults to null. Give this or <see cref="ConfigFile"/>, not both.
    /// </summary>
    public string? BrokerConfig { get; set; }

    /// <summary>
    /// Where the backend listens, as an address and port (<c>0.0.0.0:5100</c>, <c>[::]:5100</c>; port 0 picks
    /// one). Defaults to null: no listener is registered (a frontend-only process).
    /// </summary>
    public string? Listen { get; set; }

    /// <summary>
    /// Whether the frontend's <c>TransportConnector</c> is registered (and its certificates loaded at start).
    /// Defaults to <see langword="true"/>; a backend-only process sets it to false.
    /// </summary>
    public bool Connector { get; set; } = true;

    /// <summary>
    /// The backend's mounted TLS Secret folder (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>), polled for
    /// rotations. Defaults to null: the embedded issuer's backend leaf.
    /// </summary>
    public string? BackendCertificateFolder { get; set; }

    /// <summary>The frontend's mounted TLS Secret folder. Defaults to null: the embedded issuer's frontend leaf.</summary>
    public string? FrontendCertificateFolder { get; set; }

    /// <summary>
    /// The trust bundle, apart from the Secret folders' <c>ca.crt</c>: a PEM file, or the folder a ConfigMap is
    /// mounted at (its <c>ca.crt</c>, else its only file), such as the one a trust-manager <c>Bundle</c> writes.
    /// Polled with the Secret folders and reloaded the same way. Needs a certificate folder
    /// (<see cref="BackendCertificateFolder"/> or <see cref="FrontendCertificateFolder"/>): the embedded issuer
    /// keeps its own bundle. Defaults to null: each folder's <c>ca.crt</c>.
    /// </summary>
    public string? TrustBundlePath { get; set; }

    /// <summary>
    /// The certificate folders' root handover (see <c>SecretFolderOptions.RootHandover</c>): how long a leaf from a
    /// root new to this side waits, the previous leaf presented meanwhile, and how long a root that left the bundle
    /// stays trusted. Defaults to 2 minutes (kubelet's sync period plus its cache delay); zero switches at once,
    /// the emergency setting after a root's key was compromised.
    /// </summary>
    public TimeSpan RootHandover { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The frontend identities the backend accepts (see <c>TransportListenerOptions.AllowedClientIdentities</c>). Defaults to empty: any client certificate that chains to the trust bundle.</summary>
    public IList<string> AllowedClientIdentities { get; } = new List<string>();

    /// <summary>The identity the backend's certificate must carry (see <c>TransportConnectorOptions.ServerIdentity</c>). Defaults to null: the host connected to.</summary>
    public string? ServerIdentity { get; set; }

    /// <summary>
    /// The names the embedded issuer writes into the backend's leaf. Defaults to empty: the issuer's defaults
    /// (<c>localhost</c>, <c>127.0.0.1</c>).
    /// </summary>
    public IList<string> BackendNames { get; } = new List<string>();

    /// <summary>The names the embedded issuer writes into the frontend's leaf. Defaults to empty: the issuer's default (<c>frontend</c>).</summary>
    public IList<string> FrontendNames { get; } = new List<string>();

    /// <summary>How long a TLS handshake may take, on both sides. Defaults to 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection may live, on both sides (see <c>TransportListenerOptions.MaxConnectionAge</c>): it is
    /// asked to drain then (plus or minus 10 %) and closed <see cref="DrainGrace"/> later. Defaults to
    /// <see cref="Timeout.InfiniteTimeSpan"/>: off. Connections end before their certificates whatever this says.
    /// </summary>
    public TimeSpan MaxConnectionAge { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>How long a connection asked to drain gets before the transport closes it, on both sides. Defaults to 30 seconds.</summary>
    public TimeSpan DrainGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adjusts the listener's options last, after they were built from these settings and the broker config,
    /// for what has no setting here: <c>MaxPendingHandshakes</c>, <c>AuthorizeClient</c>, the <c>Socket</c>
    /// options (keep-alive, <c>IdleTimeout</c>, buffer sizes). Code only: configuration does not bind it.
    /// Defaults to null.
    /// </summary>
    public Action<TransportListenerOptions>? ConfigureListener { get; set; }

    /// <summary>Adjusts the connector's options last, as <see cref="ConfigureListener"/> does the listener's. Code only. Defaults to null.</summary>
    public Action<TransportConnectorOptions>? ConfigureConnector { get; set; }
}
