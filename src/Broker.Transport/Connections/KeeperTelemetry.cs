using System.Diagnostics.Metrics;
using System.Net;
using Broker.Transport.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Connections;

/// <summary>The log events (ids 20-23, category <c>Broker.Transport.Keeper</c>) and the counts of a <see cref="ConnectionKeeper"/>.</summary>
internal sealed partial class KeeperTelemetry
{
    private readonly ILogger _logger;
    private readonly TransportMetrics _metrics;
    private readonly string _endpoint;

    public KeeperTelemetry(EndPoint endpoint, ILoggerFactory? loggers, IMeterFactory? meters)
    {
        _endpoint = endpoint.ToString() ?? string.Empty;
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Broker.Transport.Keeper");
        _metrics = TransportMetrics.For(meters);
    }

    /// <summary>Why a keeper opened a connection.</summary>
    public enum Cause
    {
        First,
        Reconnect,
        HandOver,
    }

    public void Connected(TransportConnection connection, Cause cause)
    {
        _metrics.KeeperConnected(cause switch { Cause.First => "first", Cause.Reconnect => "reconnect", _ => "hand_over" });
        KeeperConnected(connection.ConnectionId, connection.RemoteEndPoint, cause);
    }

    public void ConnectFailed(int attempt, TimeSpan retryIn, Exception error)
    {
        _metrics.KeeperConnectFailed();
        KeeperConnectFailed(_endpoint, attempt, retryIn.TotalSeconds, error.Message);
    }

    public void HandingOver(TransportConnection connection) => KeeperHandingOver(connection.ConnectionId, connection.RemoteEndPoint, connection.DrainReason, connection.ClosesAt);

    public void Lost(TransportConnection connection, Exception error) => KeeperConnectionLost(connection.ConnectionId, connection.RemoteEndPoint, error.Message);

    [LoggerMessage(EventId = 20, EventName = "KeeperConnected", Level = LogLevel.Information, Message = "Keeper: connection {ConnectionId} to {RemoteEndPoint} is up ({Cause}).")]
    private partial void KeeperConnected(string connectionId, EndPoint remoteEndPoint, Cause cause);

    [LoggerMessage(EventId = 21, EventName = "KeeperConnectFailed", Level = LogLevel.Warning, Message = "Keeper: connecting to {EndPoint} failed (failure {Failures} in a row); next attempt in {RetryInSeconds:0.###} s: {Error}")]
    private partial void KeeperConnectFailed(string endPoint, int failures, double retryInSeconds, string error);

    [LoggerMessage(EventId = 22, EventName = "KeeperHandingOver", Level = LogLevel.Information, Message = "Keeper: connection {ConnectionId} to {RemoteEndPoint} is draining ({Reason}, closes at {ClosesAt:u}); connecting its successor before it closes.")]
    private partial void KeeperHandingOver(string connectionId, EndPoint remoteEndPoint, ConnectionDrainReason reason, DateTimeOffset? closesAt);

    [LoggerMessage(EventId = 23, EventName = "KeeperConnectionLost", Level = LogLevel.Warning, Message = "Keeper: connection {ConnectionId} was lost: {Error} Reconnecting to {RemoteEndPoint}.")]
    private partial void KeeperConnectionLost(string connectionId, EndPoint remoteEndPoint, string error);
}
