using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace TwoTierBroker.CommandLine;

/// <summary>The commands' logging: single lines with UTC times, all on stderr (stdout is the endpoints' contract).</summary>
internal static class Logs
{
    public static ILoggerFactory Create() => LoggerFactory.Create(logging => logging
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
        .SetMinimumLevel(LogLevel.Information)

        // The transport's own lines: connections and handshakes, and certificate reloads.
        .AddFilter("Broker.Transport", LogLevel.Information));
}
