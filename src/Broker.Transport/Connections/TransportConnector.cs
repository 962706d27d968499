using System.Net;
using System.Net.Sockets;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;

namespace Broker.Transport.Connections;

/// <summary>The frontend side: opens connections to a backend.</summary>
public sealed class TransportConnector
{
    private readonly TransportConnectorOptions _options;
    private readonly IClientSecurity _security;
    private readonly ConnectionTelemetry _telemetry;
    private readonly ConnectionLifetimes _lifetimes;

    /// <summary>
    /// Creates a connector. With the default options encryption is Enabled, so
    /// <see cref="TransportConnectorOptions.Certificates"/> must be set.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid; the message names the field.</exception>
    public TransportConnector(TransportConnectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _security = options.EncryptInternalTraffic == EncryptInternalTraffic.Enabled
            ? new TlsClientSecurity(Tls(options), options.ServerIdentity is { } identity ? PeerIdentity.Parse(identity, nameof(TransportConnectorOptions.ServerIdentity)) : null)
            : new PlaintextSecurity(options.Socket.WithClock(options.TimeProvider));
        _telemetry = new ConnectionTelemetry(backend: false, options.EncryptInternalTraffic, options.Certificates, options.LoggerFactory, options.MeterFactory, options.TimeProvider);
        var encrypted = options.EncryptInternalTraffic == EncryptInternalTraffic.Enabled;
        _lifetimes = new ConnectionLifetimes(options.MaxConnectionAge, options.DrainGrace, encrypted ? options.Certificates : null, options.TimeProvider, _telemetry);
    }

    /// <summary>Whether this connector's connections are encrypted.</summary>
    public EncryptInternalTraffic EncryptInternalTraffic => _options.EncryptInternalTraffic;

    /// <summary>
    /// Connects to <paramref name="endpoint"/> and sets the connection up. The caller owns the connection
    /// and disposes it.
    /// </summary>
    /// <exception cref="ConnectFailedException">The connect was refused or timed out (<see cref="TransportConnectorOptions.ConnectTimeout"/>).</exception>
    /// <exception cref="HandshakeException">The TLS handshake failed or the backend was refused; <see cref="HandshakeException.Reason"/> says why.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<TransportConnection> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var socket = endpoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await ConnectSocketAsync(socket, endpoint, cancellationToken).ConfigureAwait(false);
            var started = _telemetry.Start();
            TransportConnection connection;
            try
            {
                var secured = await _security.ConnectAsync(socket, TargetHost(endpoint), cancellationToken).ConfigureAwait(false);
                connection = new TransportConnection(secured.Pipe, secured.Info);
            }
            catch (HandshakeException ex)
            {
                _telemetry.Refused(endpoint, ex, started);
                throw;
            }

            _telemetry.Opened(connection, started);
            _lifetimes.Track(connection);
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async ValueTask ConnectSocketAsync(Socket socket, EndPoint endpoint, CancellationToken cancellationToken)
    {
        // Pooled, as the TLS handshake's: the TCP handshake's timeout and link to the caller's token.
        var deadline = HandshakeDeadline.Start(_options.ConnectTimeout, _options.TimeProvider, cancellationToken);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.TimedOut && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectFailedException(
                $"Connecting to {endpoint} timed out after {_options.ConnectTimeout.TotalSeconds:0.###} s (ConnectTimeout). Is the backend reachable?");
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested && ex.CancellationToken != cancellationToken)
        {
            // The caller's cancellation, reported with the caller's token rather than the internal linked one.
            throw new OperationCanceledException(ex.Message, ex, cancellationToken);
        }
        catch (SocketException ex)
        {
            var hint = ex.SocketErrorCode == SocketError.ConnectionRefused ? " Is the backend listening on that port?" : string.Empty;
            throw new ConnectFailedException($"Connecting to {endpoint} failed: {ex.SocketErrorCode} ({ex.Message}).{hint}", ex);
        }
        finally
        {
            deadline.Return();
        }
    }

    private static TlsSettings Tls(TransportConnectorOptions options)
        => new(options.Certificates!, options.HandshakeTimeout, options.AllowTls12, options.TimeProvider, options.Socket.WithClock(options.TimeProvider), options.CipherSuites);

    private static string TargetHost(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => dns.Host,
        IPEndPoint ip => ip.Address.ToString(),
        _ => endpoint.ToString() ?? string.Empty,
    };

}
