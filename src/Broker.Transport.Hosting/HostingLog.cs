using Microsoft.Extensions.Logging;

namespace Broker.Transport.Hosting;

/// <summary>The hosting layer's events, with stable ids (200 and up; the transport's are below 200).</summary>
internal sealed partial class HostingLog
{
    private readonly ILogger _logger;

    private HostingLog(ILogger logger) => _logger = logger;

    public static HostingLog Create(ILoggerFactory factory) => new(factory.CreateLogger("Broker.Transport.Hosting"));

    [LoggerMessage(EventId = 200, EventName = "BrokerConfigWarning", Level = LogLevel.Warning, Message = "Broker config: {Warning}")]
    public partial void ConfigWarning(string warning);

    [LoggerMessage(EventId = 201, EventName = "TransportStarted", Level = LogLevel.Information, Message = "Broker transport started: encryption {Encryption}, listener {Listen}, connector {Connector}.")]
    public partial void Started(string encryption, string listen, bool connector);
}
