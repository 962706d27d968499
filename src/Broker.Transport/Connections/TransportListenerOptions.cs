using Broker.Transport.Certificates;
using Broker.Transport.Security;
using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>Options for the backend side: the listener.</summary>
public sealed class TransportListenerOptions
{
    /// <summary>
    /// Whether connections are encrypted. Defaults to <see cref="EncryptInternalTraffic.Enabled"/>: TLS 1.3,
    /// a client certificate required, trust pinned to <see cref="Certificates"/>' trust bundle.
    /// </summary>
    public EncryptInternalTraffic EncryptInternalTraffic { get; set; } = EncryptInternalTraffic.Enabled;

    /// <summary>Where the backend's certificate and trust bundle come from, asked at every handshake. Required when encryption is enabled.</summary>
    public ICertificateSource? Certificates { get; set; }

    /// <summary>How long a connection may take to set up (the TLS handshake) before it is dropped. Defaults to 10 seconds, as Kestrel's.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many connections may be in their handshake at once. Past it the listener takes no new
    /// connections from the kernel until one finishes or times out, so a flood of stalled peers costs a
    /// bounded amount of memory. Defaults to 256.
    /// </summary>
    public int MaxPendingHandshakes { get; set; } = 256;

    /// <summary>
    /// The frontend identities accepted, matched exactly against the client certificate's subject alternative
    /// names by type: DNS names case-insensitively, URIs byte for byte, IP addresses only when written as one
    /// in canonical form (<c>127.0.0.1</c>, not <c>127.1</c>). A wildcard name in the certificate never
    /// satisfies an entry: the list names exact identities. When empty and <see cref="AuthorizeClient"/> is
    /// null (the default), any client certificate that passes the chain, key usage and EKU checks is accepted.
    /// </summary>
    public IList<string> AllowedClientIdentities { get; } = new List<string>();

    /// <summary>
    /// Decides whether a verified client certificate's identity may connect; runs after the chain and
    /// EKU checks and after <see cref="AllowedClientIdentities"/>, when that list is not empty. Null by default.
    /// </summary>
    public Func<PeerCertificateInfo, bool>? AuthorizeClient { get; set; }

    /// <summary>Whether TLS 1.2 is accepted besides 1.3. Defaults to <see langword="false"/>: TLS 1.3 only.</summary>
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

    /// <summary>The length of the kernel's queue of connections not yet accepted. Defaults to 512.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// How many established connections may wait for <see cref="TransportListener.AcceptAsync"/> before
    /// the listener stops taking new ones from the kernel. Defaults to 512.
    /// </summary>
    public int MaxQueuedConnections { get; set; } = 512;

    /// <summary>How each accepted connection's socket and pipes behave.</summary>
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
        if (Backlog < 1)
        {
            throw new ArgumentException($"{nameof(Backlog)} is {Backlog}; it must be at least 1.");
        }

        if (MaxQueuedConnections < 1)
        {
            throw new ArgumentException($"{nameof(MaxQueuedConnections)} is {MaxQueuedConnections}; it must be at least 1.");
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
            throw new ArgumentException($"{nameof(HandshakeTimeout)} is {HandshakeTimeout}; it must be positive: an unbounded handshake lets a stalled peer hold a slot forever.");
        }

        if (MaxPendingHandshakes < 1)
        {
            throw new ArgumentException($"{nameof(MaxPendingHandshakes)} is {MaxPendingHandshakes}; it must be at least 1.");
        }

        if (EncryptInternalTraffic == EncryptInternalTraffic.Enabled && Certificates is null)
        {
            throw new ArgumentException($"{nameof(EncryptInternalTraffic)} is Enabled but no {nameof(Certificates)} source is set: the backend needs a certificate and the internal trust bundle (or set EncryptInternalTraffic to Disabled, for controlled test environments only).");
        }

        if (!Enum.IsDefined(EncryptInternalTraffic))
        {
            throw new ArgumentException($"{nameof(EncryptInternalTraffic)} is {(int)EncryptInternalTraffic}; it must be Enabled or Disabled.");
        }

        foreach (var identity in AllowedClientIdentities)
        {
            Security.PeerIdentity.Parse(identity, $"{nameof(AllowedClientIdentities)} entry");
        }

        TlsCipherSuites.Validate(CipherSuites, AllowTls12, nameof(CipherSuites));
        ArgumentNullException.ThrowIfNull(Socket, nameof(Socket));
        ArgumentNullException.ThrowIfNull(Environment, nameof(Environment));
        ArgumentNullException.ThrowIfNull(Environment.TimeProvider, nameof(TransportEnvironment.TimeProvider));
        Socket.Validate();
    }
}
