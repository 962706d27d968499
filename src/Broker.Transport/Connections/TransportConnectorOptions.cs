using Broker.Transport.Certificates;
using Broker.Transport.Security;
using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>Options for the frontend side: the connector.</summary>
public sealed class TransportConnectorOptions
{
    /// <summary>
    /// Whether connections are encrypted. Defaults to <see cref="EncryptInternalTraffic.Enabled"/>: TLS 1.3,
    /// this side's certificate presented, the backend verified against <see cref="Certificates"/>' trust bundle.
    /// </summary>
    public EncryptInternalTraffic EncryptInternalTraffic { get; set; } = EncryptInternalTraffic.Enabled;

    /// <summary>Where the frontend's client certificate and trust bundle come from, asked at every connect. Required when encryption is enabled.</summary>
    public ICertificateSource? Certificates { get; set; }

    /// <summary>How long the TLS handshake may take after the TCP connect. Defaults to 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The identity the backend's certificate must carry in its subject alternative names: a DNS name
    /// (case-insensitive; a certificate's <c>*.</c> wildcard matches one label, as TLS clients match servers),
    /// an IP address written in canonical form (<c>127.0.0.1</c>, not <c>127.1</c>), or a URI (byte for byte).
    /// Defaults to null: the host of the endpoint connected to.
    /// </summary>
    public string? ServerIdentity { get; set; }

    /// <summary>Whether TLS 1.2 is offered besides 1.3. Defaults to <see langword="false"/>: TLS 1.3 only.</summary>
    public bool AllowTls12 { get; set; }

    /// <summary>
    /// The TLS cipher suites the handshake may negotiate, in order of preference; the same list on both sides
    /// negotiates its first suite. Defaults to null: OpenSSL's own list and order (TLS_AES_256_GCM_SHA384 first,
    /// unless the process's OpenSSL configuration says otherwise), which keeps TLS session resumption. With
    /// <see cref="AllowTls12"/> off it may name only TLS 1.3's three suites (TLS_AES_128_GCM_SHA256,
    /// TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256); it needs OpenSSL (Linux). Setting it costs TLS session
    /// resumption: .NET keeps no TLS context between handshakes that carry a cipher suite policy, so each one is full.
    /// </summary>
    public IReadOnlyList<System.Net.Security.TlsCipherSuite>? CipherSuites { get; set; }

    /// <summary>How long a TCP connect before it fails with <see cref="ConnectFailedException"/>. Defaults to 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How each connection's socket and pipes behave.</summary>
    public SocketTransportOptions Socket { get; set; } = new();

    /// <summary>
    /// How long a connection may live, as gRPC's and Envoy's setting: when it is reached (with a jitter of plus or
    /// minus 10 %), the connection is asked to drain (<see cref="TransportConnection.DrainRequested"/>) and closed
    /// <see cref="DrainGrace"/> later. Defaults to <see cref="Timeout.InfiniteTimeSpan"/>: off. Whatever this says, a
    /// connection never outlives the leaves it was set up with, nor the trust of its peer's root.
    /// </summary>
    public TimeSpan MaxConnectionAge { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// How long a connection asked to drain gets to finish before the transport closes it (gracefully: what was
    /// flushed is sent, then TLS close_notify). A leaf's expiry starts the drain this long before it. Defaults to
    /// 30 seconds (Kubernetes' default termination grace period).
    /// </summary>
    public TimeSpan DrainGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Where this part logs, what it measures with, and its clock (every timeout, timer and validity check).
    /// Defaults to <see cref="TransportEnvironment.Default"/>: no logs, the process-wide meter, the system clock. Give
    /// the sources, the listener, the connector and the keepers of a process the same one.
    /// </summary>
    public TransportEnvironment Environment { get; set; } = TransportEnvironment.Default;

    internal TimeProvider TimeProvider => Environment.TimeProvider;

    internal Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory => Environment.LoggerFactory;

    internal System.Diagnostics.Metrics.IMeterFactory? MeterFactory => Environment.MeterFactory;

    /// <summary>Checks the values once, at start, with a message that names the field.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"{nameof(ConnectTimeout)} is {ConnectTimeout}; it must be positive (or Timeout.InfiniteTimeSpan).");
        }

        if (MaxConnectionAge != Timeout.InfiniteTimeSpan && MaxConnectionAge <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(MaxConnectionAge)} is {MaxConnectionAge}; it must be positive, or Timeout.InfiniteTimeSpan for no limit.");
        }

        if (DrainGrace < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(DrainGrace)} is {DrainGrace}; it must be zero or more.");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(HandshakeTimeout)} is {HandshakeTimeout}; it must be positive.");
        }

        if (EncryptInternalTraffic == EncryptInternalTraffic.Enabled && Certificates is null)
        {
            throw new ArgumentException($"{nameof(EncryptInternalTraffic)} is Enabled but no {nameof(Certificates)} source is set: the frontend needs a client certificate and the internal trust bundle (or set EncryptInternalTraffic to Disabled, for controlled test environments only).");
        }

        if (!Enum.IsDefined(EncryptInternalTraffic))
        {
            throw new ArgumentException($"{nameof(EncryptInternalTraffic)} is {(int)EncryptInternalTraffic}; it must be Enabled or Disabled.");
        }

        if (ServerIdentity is not null)
        {
            Security.PeerIdentity.Parse(ServerIdentity, nameof(ServerIdentity));
        }

        TlsCipherSuites.Validate(CipherSuites, AllowTls12, nameof(CipherSuites));
        ArgumentNullException.ThrowIfNull(Socket, nameof(Socket));
        ArgumentNullException.ThrowIfNull(Environment, nameof(Environment));
        ArgumentNullException.ThrowIfNull(Environment.TimeProvider, nameof(TransportEnvironment.TimeProvider));
        Socket.Validate();
    }
}
