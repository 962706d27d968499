using System.Net;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Diagnostics;

/// <summary>
/// The transport's log events, with stable ids. Messages name peers, reasons and certificate
/// thumbprints; never key material.
/// </summary>
internal sealed partial class TransportLog
{
    private readonly ILogger _logger;

    private TransportLog(ILogger logger) => _logger = logger;

    public static TransportLog Create(ILoggerFactory? factory)
        => new((factory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Transport"));

    // Connections between frontend and backend pods are few and long-lived, so opening and closing one is
    // worth an Information line (Kestrel, with thousands of short HTTP connections, logs them at Debug).

    [LoggerMessage(EventId = 1, EventName = "ConnectionAccepted", Level = LogLevel.Information, Message = "Connection {ConnectionId} accepted from {RemoteEndPoint} ({Security}).")]
    public partial void ConnectionAccepted(string connectionId, EndPoint remoteEndPoint, ConnectionSecurityInfo security);

    // Information for every end but a cut stream (a TLS peer's FIN without close_notify), which is a Warning: a
    // crashed peer, a lost connection or an injected FIN, and bytes may be lost.
    [LoggerMessage(EventId = 2, EventName = "ConnectionClosed", Message = "Connection {ConnectionId} with {RemoteEndPoint} closed ({End}) after {DurationSeconds:0.###} s: {BytesSent} bytes sent, {BytesReceived} bytes received.")]
    public partial void ConnectionClosed(LogLevel level, string connectionId, EndPoint remoteEndPoint, string end, double durationSeconds, long bytesSent, long bytesReceived, Exception? error);

    [LoggerMessage(EventId = 3, EventName = "HandshakeRefused", Level = LogLevel.Warning, Message = "Connection from {RemoteEndPoint} refused ({Reason}): {Detail}")]
    public partial void HandshakeRefused(EndPoint? remoteEndPoint, HandshakeFailureReason reason, string detail);

    [LoggerMessage(EventId = 4, EventName = "ConnectionOpened", Level = LogLevel.Information, Message = "Connection {ConnectionId} opened to {RemoteEndPoint} ({Security}).")]
    public partial void ConnectionOpened(string connectionId, EndPoint remoteEndPoint, ConnectionSecurityInfo security);

    [LoggerMessage(EventId = 5, EventName = "HandshakeFailed", Level = LogLevel.Warning, Message = "Connection to {RemoteEndPoint} failed in its handshake ({Reason}): {Detail}")]
    public partial void HandshakeFailed(EndPoint? remoteEndPoint, HandshakeFailureReason reason, string detail);

    [LoggerMessage(EventId = 6, EventName = "ConnectionDraining", Level = LogLevel.Information, Message = "Connection {ConnectionId} with {RemoteEndPoint} is asked to drain ({Reason}: its lifetime bound nears); the transport closes it at {ClosesAt:u}.")]
    public partial void ConnectionDraining(string connectionId, EndPoint remoteEndPoint, ConnectionDrainReason reason, DateTimeOffset closesAt);

    // A Warning: the application did not end the connection within DrainGrace, so anything it meant to write after that is refused.
    [LoggerMessage(EventId = 7, EventName = "ConnectionDrainedClosed", Level = LogLevel.Warning, Message = "Connection {ConnectionId} with {RemoteEndPoint} was still open when DrainGrace ran out; the transport closed it ({Reason}): what was flushed is sent, later writes fail.")]
    public partial void ConnectionDrainedClosed(string connectionId, EndPoint remoteEndPoint, ConnectionDrainReason reason);
}
