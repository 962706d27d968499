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

    [LoggerMessage(EventId = 1, EventName = "ConnectionAccepted", Level = LogLevel.Debug, Message = "Connection {ConnectionId} accepted from {RemoteEndPoint} ({Security}).")]
    public partial void ConnectionAccepted(string connectionId, EndPoint remoteEndPoint, ConnectionSecurityInfo security);

    [LoggerMessage(EventId = 3, EventName = "HandshakeRefused", Level = LogLevel.Warning, Message = "Connection from {RemoteEndPoint} refused ({Reason}): {Detail}")]
    public partial void HandshakeRefused(EndPoint? remoteEndPoint, HandshakeFailureReason reason, string detail);
}
