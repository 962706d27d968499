namespace Broker.Transport;

/// <summary>
/// The side of the internal hop: the one name the library gives it, in its API, its log lines, its metrics'
/// <c>broker.transport.side</c> tag (<c>backend</c>, <c>frontend</c>) and its health data keys.
/// </summary>
public enum TransportSide
{
    /// <summary>The backend pod's side: the listener, which accepts the frontends' connections.</summary>
    Backend = 0,

    /// <summary>The frontend pod's side: the connector, which connects to the backends.</summary>
    Frontend = 1,
}
