using System.Net;
using Broker.Transport.Connections;

namespace TwoTierBroker.Frontend;

/// <summary>What a frontend needs: where its MQTT clients connect, its backends, and the transport's options.</summary>
public sealed class FrontendOptions
{
    /// <summary>Where MQTT clients connect (TCP, MQTT 3.1.1 and 5.0); port 0 picks a free one.</summary>
    public required IPEndPoint Mqtt { get; init; }

    /// <summary>The backends, one per partition, in the same order on every frontend (the order is the partitioning).</summary>
    public required IReadOnlyList<EndPoint> Backends { get; init; }

    /// <summary>The transport's connector options: encryption, certificates, identities.</summary>
    public required TransportConnectorOptions Transport { get; init; }

    /// <summary>The frontend's name in its Hello and its logs. Defaults to <c>frontend</c>.</summary>
    public string Name { get; init; } = "frontend";

    /// <summary>How long a QoS 1 publish may wait for its backend's ack (across a reconnect) before the client is told it failed. Defaults to 10 seconds.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a backend may take to answer the Hello. Defaults to 10 seconds, the transport's handshake timeout.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How each backend link reconnects: the library's <see cref="ConnectionKeeper"/> with these options. gRPC's
    /// algorithm (x1.6, jitter 0.2) from 100 ms, capped at 5 s rather than gRPC's 120 s: a restarted backend holds
    /// publishes for its 6 s warm-up, which must outlast the longest wait of a frontend coming back. Its
    /// <c>TimeProvider</c> is the keeper's clock.
    /// </summary>
    public ConnectionKeeperOptions Reconnect { get; init; } = new() { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(5) };

    /// <summary>The default of <see cref="MaxPendingMessagesPerClient"/>.</summary>
    public const int DefaultMaxPendingMessagesPerClient = 10_000;

    /// <summary>
    /// Messages queued for one slow MQTT client before MQTTnet drops its oldest. Defaults to 10,000
    /// (MQTTnet's own default is 1,000).
    /// </summary>
    public int MaxPendingMessagesPerClient { get; init; } = DefaultMaxPendingMessagesPerClient;

    /// <summary>The clock of the reconnect delays and publish timeouts. Defaults to the system's.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
