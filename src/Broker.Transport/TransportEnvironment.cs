using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Broker.Transport;

/// <summary>
/// Where the transport logs, what it measures with and the one clock it runs on, shared by every part of it:
/// give the same context to the certificate sources, the listener, the connector and the keepers of a process,
/// and they log to one factory, count on one meter and time everything (timeouts, timers, certificate validity)
/// on one clock. The Hosting package makes one from the host's services.
/// </summary>
/// <example>
/// <code>
/// var context = new TransportEnvironment { LoggerFactory = loggers, MeterFactory = meters };
/// var listener = TransportListener.Bind(endpoint, new TransportListenerOptions { Certificates = source, Environment = context });
/// </code>
/// </example>
public sealed record TransportEnvironment
{
    /// <summary>No logs, the process-wide <c>Broker.Transport</c> meter and the system clock.</summary>
    public static TransportEnvironment Default { get; } = new();

    /// <summary>Where log events go. Defaults to none.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Where handshakes, connections, bytes, rotations and certificate expiry are measured (the
    /// <c>Broker.Transport</c> meter). Defaults to null: a process-wide meter of that name.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// The clock for every timeout, timer and validity check. Defaults to <see cref="TimeProvider.System"/>; tests
    /// pass a fake (<c>FakeTimeProvider</c>).
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
