using Broker.Transport.Certificates;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;

namespace Broker.Transport.Connections;

/// <summary>
/// The lifetime bounds of one side's connections (a listener's or a connector's): each connection's leaf expiry
/// and <c>MaxConnectionAge</c> when it opens, and the trust of its peer's root whenever this side's trust bundle
/// changes. The source is watched once for all of them, not once per connection, and only while one is open, so a
/// connector that is dropped is not kept alive by the source's events.
/// </summary>
internal sealed class ConnectionLifetimes
{
    // Bounds are spread so that connections opened together do not all drain at once (gRPC's MAX_CONNECTION_AGE
    // jitter): plus or minus this fraction of the age, and up to this fraction earlier for a certificate's expiry,
    // which a connection must never outlive.
    internal const double Jitter = 0.1;

    private readonly HashSet<TransportConnection> _open = [];
    private readonly TimeSpan _maxAge;
    private readonly TimeSpan _grace;
    private readonly ICertificateSource? _certificates;
    private readonly ConnectionTelemetry _telemetry;

    public ConnectionLifetimes(TimeSpan maxConnectionAge, TimeSpan drainGrace, ICertificateSource? certificates, TimeProvider time, ConnectionTelemetry telemetry)
    {
        _maxAge = maxConnectionAge;
        _grace = drainGrace;
        _certificates = certificates;
        _telemetry = telemetry;
        Time = time;
    }

    public TimeProvider Time { get; }

    /// <summary>How many connections are followed now.</summary>
    public int Count
    {
        get
        {
            lock (_open)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Sets a new connection's bounds and follows it until it closes.</summary>
    public void Track(TransportConnection connection)
    {
        connection.Attach(this, Random.Shared.NextDouble());
        lock (_open)
        {
            if (_open.Add(connection) && _open.Count == 1 && _certificates is not null)
            {
                _certificates.TrustBundleChanged += OnTrustChanged;
                _certificates.CredentialsChanged += OnCredentialsChanged;
            }
        }

        connection.ConnectionClosed.UnsafeRegister(
            static state =>
            {
                var (lifetimes, closed) = ((ConnectionLifetimes, TransportConnection))state!;
                lifetimes.Closed(closed);
            },
            (this, connection));

        var now = Time.GetUtcNow();
        var security = connection.Security;
        if (security.LocalCertificateNotAfter is { } local)
        {
            var peer = security.PeerCertificate?.NotAfter ?? local;
            var (expiry, reason) = peer < local ? (peer, ConnectionDrainReason.PeerCertificateExpiry) : (local, ConnectionDrainReason.LocalCertificateExpiry);
            if (expiry <= now)
            {
                // A leaf that expired before the handshake: the peer refuses it (TLS 1.3's client learns of it at its
                // first read), so the connection drains at once and gets the grace, rather than a close that races the alert.
                connection.Bound(reason, now, now + _grace);
            }
            else
            {
                var closeAt = expiry - ((expiry - now) * (Jitter * connection.Spread));
                connection.Bound(reason, closeAt - _grace, closeAt);
            }
        }

        if (_maxAge != Timeout.InfiniteTimeSpan)
        {
            var drainAt = now + (_maxAge * (1 + (Jitter * ((2 * connection.Spread) - 1))));
            connection.Bound(ConnectionDrainReason.MaxConnectionAge, drainAt, drainAt + _grace);
        }

        // A root removed between the handshake and now.
        if (_certificates is not null && security.PeerCertificate?.Root is not null)
        {
            CheckRoots([connection]);
        }
    }

    /// <summary>A drain started: logged and counted.</summary>
    public void Draining(TransportConnection connection, ConnectionDrainReason reason, DateTimeOffset closesAt)
        => _telemetry.Draining(connection, reason, closesAt);

    /// <summary>The drain grace is over: the transport closes the connection.</summary>
    public async Task CloseAsync(TransportConnection connection, ConnectionDrainReason reason)
    {
        var error = new ConnectionDrainedException(
            $"The transport closed connection {connection.ConnectionId} with {connection.RemoteEndPoint} at its lifetime bound ({Describe(reason)}), DrainGrace ({_grace.TotalSeconds:0.###} s) after asking it to drain.");
        _telemetry.DrainedClose(connection, reason);
        await connection.CloseAsync(error).ConfigureAwait(false);
    }

    private void Closed(TransportConnection connection)
    {
        connection.EndLifetime();
        lock (_open)
        {
            if (_open.Remove(connection) && _open.Count == 0 && _certificates is not null)
            {
                _certificates.TrustBundleChanged -= OnTrustChanged;
                _certificates.CredentialsChanged -= OnCredentialsChanged;
            }
        }
    }

    private TransportConnection[] Snapshot()
    {
        lock (_open)
        {
            return [.. _open];
        }
    }

    internal static string Describe(ConnectionDrainReason reason) => reason switch
    {
        ConnectionDrainReason.LocalCertificateExpiry => "this side's leaf certificate expires",
        ConnectionDrainReason.PeerCertificateExpiry => "the peer's leaf certificate expires",
        ConnectionDrainReason.PeerRootRemoved => "the root the peer's chain ends in leaves the trust bundle",
        ConnectionDrainReason.MaxConnectionAge => "MaxConnectionAge",
        _ => reason.ToString(),
    };

    private void OnTrustChanged(object? sender, EventArgs e) => CheckRoots(Snapshot());

    private void OnCredentialsChanged(object? sender, CertificateCredentials e) => CheckRoots(Snapshot());

    /// <summary>
    /// Bounds each connection whose peer's root is leaving the trust bundle (at the time the source's root handover
    /// says it goes) or has left it (now, with the drain grace).
    /// </summary>
    private void CheckRoots(IEnumerable<TransportConnection> connections)
    {
        HashSet<string> trusted;
        try
        {
            trusted = [.. _certificates!.GetTrustBundle().Select(ChainRoot.ThumbprintOf)];
        }
        catch (CertificateUnavailableException)
        {
            // A disposed or empty source: the connections' other bounds stand.
            return;
        }

        var retiring = (_certificates as SecretFolderCertificateSource)?.Handover?.RetiringRoots ?? [];
        var now = Time.GetUtcNow();
        foreach (var connection in connections)
        {
            if (connection.Security.PeerCertificate?.Root is not { } root)
            {
                continue;
            }

            if (!trusted.Contains(root.Thumbprint))
            {
                connection.Bound(ConnectionDrainReason.PeerRootRemoved, now, now + _grace);
                continue;
            }

            foreach (var leaving in retiring)
            {
                if (string.Equals(leaving.Thumbprint, root.Sha1Thumbprint, StringComparison.OrdinalIgnoreCase))
                {
                    var closeAt = leaving.TrustedUntil - ((leaving.TrustedUntil - now) * (Jitter * connection.Spread));
                    connection.Bound(ConnectionDrainReason.PeerRootRemoved, closeAt - _grace, closeAt);
                }
            }
        }
    }
}
