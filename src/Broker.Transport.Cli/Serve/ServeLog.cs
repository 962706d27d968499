using System.Net;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Cli.Serve;

/// <summary>What <c>serve</c> logs, with stable event ids. Certificates by subject, names and thumbprint; never key material.</summary>
internal static partial class ServeLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "serving {Mode} over {Security}; certificate {Certificate}")]
    public static partial void Started(ILogger logger, string mode, string security, string certificate);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "connection {ConnectionId} from {RemoteEndPoint}: {Security}")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, EndPoint remoteEndPoint, string security);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "connection {ConnectionId} closed after {Seconds:0.000} s: {Received} bytes received, {Sent} bytes sent")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, double seconds, long received, long sent);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "connection {ConnectionId} failed after {Received} bytes received: {Error}")]
    public static partial void ConnectionFailed(ILogger logger, string connectionId, long received, string error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "refused handshake from {RemoteEndPoint}: {Reason}: {Detail}")]
    public static partial void HandshakeRefused(ILogger logger, string remoteEndPoint, HandshakeFailureReason reason, string detail);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "certificate reloaded from {Folder}: {Certificate}")]
    public static partial void CertificateReloaded(ILogger logger, string folder, string certificate);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "{Signal}: stopped accepting; waiting up to {Grace} for {Open} open connection(s)")]
    public static partial void Stopping(ILogger logger, string signal, string grace, int open);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "grace period over: closing {Open} connection(s) still open")]
    public static partial void GraceExpired(ILogger logger, int open);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "stopped: {Accepted} connection(s) served, {Refused} handshake(s) refused")]
    public static partial void Stopped(ILogger logger, long accepted, long refused);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "connection {ConnectionId} asked to drain ({Reason}); the transport closes it at {ClosesAt:u}")]
    public static partial void ConnectionDraining(ILogger logger, string connectionId, ConnectionDrainReason reason, DateTimeOffset? closesAt);
}
