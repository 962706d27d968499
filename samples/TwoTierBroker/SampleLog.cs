using Broker.Transport;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace TwoTierBroker;

/// <summary>The sample's log events (categories <c>TwoTierBroker.Backend</c> and <c>TwoTierBroker.Frontend</c>); nothing is logged per message.</summary>
internal static partial class SampleLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Backend {Backend} serves frontend {Frontend} ({RemoteEndPoint}, {Security}, peer SHA-256 {PeerThumbprint})")]
    public static partial void FrontendJoined(ILogger logger, string backend, string frontend, string remoteEndPoint, string security, string peerThumbprint);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Backend {Backend}: frontend {Frontend} left: {Reason}")]
    public static partial void FrontendLeft(ILogger logger, string backend, string frontend, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Backend {Backend} refused a frontend ({RemoteEndPoint}): {Reason}: {Detail}")]
    public static partial void HandshakeRefused(ILogger logger, string backend, string remoteEndPoint, HandshakeFailureReason reason, string detail);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Backend {Backend} cut off {Frontend}: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, string backend, string frontend, string reason);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Frontend {Frontend} linked to backend {Backend} (partition {Partition}, {EndPoint}, {Security}, peer SHA-256 {PeerThumbprint}); re-sent {Filters} filter(s) and {Publishes} unacknowledged publish(es)")]
    public static partial void Linked(ILogger logger, string frontend, string backend, int partition, string endPoint, string security, string peerThumbprint, int filters, int publishes);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Frontend {Frontend}: the link to partition {Partition} ({EndPoint}) failed: {Error} Retrying in {RetryMs} ms")]
    public static partial void LinkFailed(ILogger logger, string frontend, int partition, string endPoint, string error, long retryMs);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Frontend {Frontend}: the link to partition {Partition} ({EndPoint}) was refused by the transport ({ErrorType}): {Error} Retrying in {RetryMs} ms; publishes for this partition are refused until it links")]
    public static partial void LinkRefused(ILogger logger, string frontend, int partition, string endPoint, string errorType, string error, long retryMs);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Frontend {Frontend} refused a publish on '{Topic}' from {ClientId}: {Reason}")]
    public static partial void PublishRefused(ILogger logger, string frontend, string topic, string clientId, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Frontend {Frontend} refused the connection of {ClientId}: {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string frontend, string clientId, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Frontend {Frontend} could not deliver a message on '{Topic}' from partition {Partition}: {Error}")]
    public static partial void DeliveryFailed(ILogger logger, string frontend, string topic, int partition, string error);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "Frontend {Frontend}: {Count} QoS 0 publish(es) for partition {Partition} dropped while it was not linked")]
    public static partial void QosZeroDropped(ILogger logger, string frontend, int partition, long count);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Frontend {Frontend}: the link to partition {Partition} ({EndPoint}) moved to a new connection before the old one ({OldConnectionId}) closed: it was draining ({Reason})")]
    public static partial void LinkHandedOver(ILogger logger, string frontend, int partition, string endPoint, string oldConnectionId, string reason);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "Frontend {Frontend}: the link to partition {Partition} ({EndPoint}) lost its connection {ConnectionId}: {Error} The connection keeper connects again")]
    public static partial void LinkLost(ILogger logger, string frontend, int partition, string endPoint, string connectionId, string error);
}
