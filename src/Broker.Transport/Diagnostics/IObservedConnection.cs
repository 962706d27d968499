using Broker.Transport.Security;

namespace Broker.Transport.Diagnostics;

/// <summary>
/// What the meter reads of a live connection: the connection layer's connections expose this state, and the
/// meter observes it (its byte counters), so Diagnostics never depends on the connection layer.
/// </summary>
internal interface IObservedConnection
{
    /// <summary>The side's tag: backend or frontend.</summary>
    string Side { get; }

    /// <summary>What was negotiated; whether the connection is encrypted.</summary>
    ConnectionSecurityInfo Security { get; }

    /// <summary>Bytes written to the socket so far.</summary>
    long BytesSent { get; }

    /// <summary>Bytes read from the socket so far.</summary>
    long BytesReceived { get; }
}
