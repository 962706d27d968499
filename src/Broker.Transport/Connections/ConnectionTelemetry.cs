using System.Diagnostics.Metrics;
using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Connections;

/// <summary>
/// The events and measurements of one side (a listener or a connector): handshakes, connections opened and
/// closed. The listener and the connector each call it at three points, so the hooks stay out of their logic.
/// </summary>
internal sealed class ConnectionTelemetry
{
    private readonly TransportLog _log;
    private readonly TransportMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly string _side;
    private readonly string _encryption;
    private readonly ICertificateSource? _certificates;

    public ConnectionTelemetry(bool backend, EncryptInternalTraffic encryption, ICertificateSource? certificates, ILoggerFactory? loggers, IMeterFactory? meters, TimeProvider time)
    {
        _log = TransportLog.Create(loggers);
        _metrics = TransportMetrics.For(meters);
        _time = time;
        _side = backend ? TransportMetrics.Tags.Backend : TransportMetrics.Tags.Frontend;
        _encryption = encryption == EncryptInternalTraffic.Enabled ? TransportMetrics.Tags.Enabled : TransportMetrics.Tags.Disabled;
        _certificates = encryption == EncryptInternalTraffic.Enabled ? certificates : null;
        if (_certificates is not null)
        {
            _metrics.Watch(this, _certificates, _side, time);
        }
    }

    public TransportLog Log => _log;

    private bool Encrypted => ReferenceEquals(_encryption, TransportMetrics.Tags.Enabled);

    /// <summary>The timestamp a handshake starts at.</summary>
    public long Start() => _time.GetTimestamp();

    /// <summary>A connection is set up: measures its handshake, logs it, and follows it until it closes.</summary>
    public void Opened(TransportConnection connection, long started)
    {
        if (Encrypted)
        {
            _metrics.HandshakeFinished(_side, _time.GetElapsedTime(started), failureReason: null);
        }

        connection.Side = _side;
        connection.OpenedAt = _time.GetTimestamp();
        _metrics.ConnectionOpened(_side, _encryption);
        _metrics.Watch(connection);
        if (ReferenceEquals(_side, TransportMetrics.Tags.Backend))
        {
            _log.ConnectionAccepted(connection.ConnectionId, connection.RemoteEndPoint, connection.Security);
        }
        else
        {
            _log.ConnectionOpened(connection.ConnectionId, connection.RemoteEndPoint, connection.Security);
        }

        connection.ConnectionClosed.UnsafeRegister(
            static state => Closed(((ConnectionTelemetry, TransportConnection))state!),
            (this, connection));
    }

    /// <summary>A connection was asked to drain at its lifetime bound.</summary>
    public void Draining(TransportConnection connection, ConnectionDrainReason reason, DateTimeOffset closesAt)
    {
        _metrics.Drain(_side, DrainTag(reason), closed: false);
        _log.ConnectionDraining(connection.ConnectionId, connection.RemoteEndPoint, reason, closesAt);
    }

    /// <summary>A draining connection outlived its grace: the transport closes it.</summary>
    public void DrainedClose(TransportConnection connection, ConnectionDrainReason reason)
    {
        _metrics.Drain(_side, DrainTag(reason), closed: true);
        _log.ConnectionDrainedClosed(connection.ConnectionId, connection.RemoteEndPoint, reason);
    }

    private static string DrainTag(ConnectionDrainReason reason) => reason switch
    {
        ConnectionDrainReason.LocalCertificateExpiry => "local_certificate_expiry",
        ConnectionDrainReason.PeerCertificateExpiry => "peer_certificate_expiry",
        ConnectionDrainReason.PeerRootRemoved => "peer_root_removed",
        ConnectionDrainReason.MaxConnectionAge => "max_connection_age",
        _ => "none",
    };

    /// <summary>A handshake failed: measures and logs it with its reason.</summary>
    public void Refused(EndPoint? remote, HandshakeException error, long started)
    {
        var reason = TransportMetrics.ReasonTag(error.Reason);
        _metrics.HandshakeFinished(_side, _time.GetElapsedTime(started), reason);
        LogRefusal(remote, error);
    }

    /// <summary>The listener is gone: stop observing its certificates.</summary>
    public void Stop()
    {
        if (_certificates is not null)
        {
            _metrics.Unwatch(this);
        }
    }

    private void LogRefusal(EndPoint? remote, HandshakeException error)
    {
        if (ReferenceEquals(_side, TransportMetrics.Tags.Backend))
        {
            _log.HandshakeRefused(remote, error.Reason, error.Message);
        }
        else
        {
            _log.HandshakeFailed(remote, error.Reason, error.Message);
        }
    }

    private static void Closed((ConnectionTelemetry Telemetry, TransportConnection Connection) state)
    {
        var (telemetry, connection) = state;
        var error = connection.InputError;
        var end = EndOf(error);
        telemetry._metrics.ConnectionClosed(telemetry._side, telemetry._encryption, end);
        telemetry._metrics.Forget(connection, telemetry._side, telemetry._encryption);
        if (error is EncryptionMismatchException { Reason: HandshakeFailureReason.TlsPeer } mismatch)
        {
            // A plaintext side learns of a TLS peer from its first bytes, after setup: a refused handshake all the same.
            telemetry._metrics.HandshakeRefusedLate(telemetry._side, TransportMetrics.ReasonTag(mismatch.Reason));
            telemetry.LogRefusal(connection.RemoteEndPoint, mismatch);
        }

        var seconds = telemetry._time.GetElapsedTime(connection.OpenedAt).TotalSeconds;
        telemetry._log.ConnectionClosed(
            ReferenceEquals(end, TransportMetrics.Tags.Truncated) ? LogLevel.Warning : LogLevel.Information,
            connection.ConnectionId,
            connection.RemoteEndPoint,
            end,
            seconds,
            connection.BytesSent,
            connection.BytesReceived,
            error);
    }

    /// <summary>How a connection's input ended: the <c>broker.transport.connection.end</c> tag and the log's <c>End</c>.</summary>
    internal static string EndOf(Exception? error) => error switch
    {
        null => TransportMetrics.Tags.Clean,
        ConnectionTruncatedException => TransportMetrics.Tags.Truncated,
        ConnectionResetException => TransportMetrics.Tags.Reset,
        ConnectionAbortedException => TransportMetrics.Tags.Aborted,
        EncryptionMismatchException => TransportMetrics.Tags.Mismatch,
        HandshakeException => TransportMetrics.Tags.Refused,
        _ => TransportMetrics.Tags.Failed,
    };
}
