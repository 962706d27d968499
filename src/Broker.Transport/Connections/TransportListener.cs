using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Broker.Transport.Security;
using Broker.Transport.Diagnostics;

namespace Broker.Transport.Connections;

/// <summary>
/// The backend side: binds an endpoint and hands out connections. A background loop accepts sockets and
/// sets each one up (the TLS handshake, when encryption is on) on its own, so one slow or hostile peer
/// never holds up the others; <see cref="AcceptAsync"/> returns only connections that are ready.
/// </summary>
public sealed partial class TransportListener : IAsyncDisposable
{
    private readonly Socket _listenSocket;
    private readonly TransportListenerOptions _options;
    private readonly IServerSecurity _security;
    private readonly SemaphoreSlim _handshakeSlots;
    private readonly Channel<TransportConnection> _ready;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    private TransportListener(Socket listenSocket, TransportListenerOptions options)
    {
        _listenSocket = listenSocket;
        _options = options;
        _security = options.EncryptInternalTraffic == EncryptInternalTraffic.Enabled
            ? new TlsServerSecurity(
                new TlsSettings(options.Certificates!, options.HandshakeTimeout, options.AllowTls12, options.TimeProvider, options.Socket.WithClock(options.TimeProvider), options.CipherSuites),
                // Typed once, at start (Validate has refused an entry that is not an identity).
                PeerIdentityPolicy.ForFrontends(
                    [.. options.AllowedClientIdentities.Select(a => PeerIdentity.Parse(a, nameof(TransportListenerOptions.AllowedClientIdentities)))],
                    options.AuthorizeClient))
            : new PlaintextSecurity(options.Socket.WithClock(options.TimeProvider));
        _handshakeSlots = new SemaphoreSlim(options.MaxPendingHandshakes, options.MaxPendingHandshakes);
        _telemetry = new ConnectionTelemetry(backend: true, options.EncryptInternalTraffic, options.Certificates, options.LoggerFactory, options.MeterFactory, options.TimeProvider);
        _lifetimes = new ConnectionLifetimes(options.MaxConnectionAge, options.DrainGrace, options.EncryptInternalTraffic == EncryptInternalTraffic.Enabled ? options.Certificates : null, options.TimeProvider, _telemetry);
        LocalEndPoint = (IPEndPoint)listenSocket.LocalEndPoint!;
        _ready = Channel.CreateBounded<TransportConnection>(new BoundedChannelOptions(options.MaxQueuedConnections)
        {
            SingleWriter = false,
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The endpoint actually bound; with port 0, the port the system chose.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Whether this listener's connections are encrypted.</summary>
    public EncryptInternalTraffic EncryptInternalTraffic => _options.EncryptInternalTraffic;

    /// <summary>
    /// Binds <paramref name="endpoint"/> (port 0 picks a free port; see <see cref="LocalEndPoint"/>) and
    /// starts accepting. With the default options encryption is Enabled, so
    /// <see cref="TransportListenerOptions.Certificates"/> must be set.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid; the message names the field.</exception>
    /// <exception cref="SocketException">The endpoint cannot be bound, for example because it is in use.</exception>
    public static TransportListener Bind(IPEndPoint endpoint, TransportListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endpoint);
            socket.Listen(options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new TransportListener(socket, options);
    }

    /// <summary>
    /// Waits for the next ready connection. Returns <see langword="null"/> once the listener is disposed.
    /// The caller owns the connection and disposes it.
    /// </summary>
    public async ValueTask<TransportConnection?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Stops accepting and unbinds. Connections already returned by <see cref="AcceptAsync"/> are left
    /// alone; connections still being set up or waiting to be accepted are closed.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listenSocket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        _ready.Writer.TryComplete();
        while (_ready.Reader.TryRead(out var orphan))
        {
            await orphan.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _handshakeSlots.Dispose();
        _telemetry.Stop();
    }
}
