using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Broker.Transport.Connections;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using MQTTnet.Server;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Frontend;

/// <summary>
/// A frontend pod: an MQTTnet server for the MQTT clients, and a <see cref="BackendLink"/> to each backend
/// partition over the transport. Each PUBLISH goes to the partition that owns its topic
/// (<see cref="Partitioner"/>), never straight to local subscribers: it comes back as a delivery from that
/// partition, like everyone else's. SUBSCRIBE and UNSUBSCRIBE go to every partition. Clean sessions only.
/// </summary>
public sealed partial class FrontendNode : IAsyncDisposable
{
    /// <summary>The session items of messages injected from the backends: how the publish interceptor tells them from clients' publishes.</summary>
    private readonly ConcurrentDictionary<object, object> _fromBackends = new();
    private readonly MqttServer _server;
    private readonly BackendLink[] _links;
    private readonly Task[] _running;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _log;
    private long _deliveries;
    private int _disposed;

    private FrontendNode(FrontendOptions options, MqttServer server, ILoggerFactory loggerFactory)
    {
        Options = options;
        _server = server;
        _log = loggerFactory.CreateLogger("TwoTierBroker.Frontend");
        var connector = new TransportConnector(options.Transport);
        _links = [.. options.Backends.Select((endpoint, i) => new BackendLink(this, i, endpoint, connector, _log))];
        _running = new Task[_links.Length];
        server.ValidatingConnectionAsync += OnConnectingAsync;
        server.InterceptingPublishAsync += OnPublishAsync;
        server.InterceptingSubscriptionAsync += OnSubscribingAsync;
        server.ClientUnsubscribedTopicAsync += OnUnsubscribedAsync;
        server.ClientDisconnectedAsync += OnDisconnectedAsync;
    }

    /// <summary>The options the frontend was started with.</summary>
    public FrontendOptions Options { get; }

    /// <summary>Where MQTT clients connect (the port chosen when 0 was asked).</summary>
    public IPEndPoint MqttEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>How many partitions are linked now.</summary>
    public int LinkedPartitions => _links.Count(l => l.IsUp);

    /// <summary>Deliveries from the backends handed to the MQTT server since the start.</summary>
    public long Deliveries => Interlocked.Read(ref _deliveries);

    internal SubscriptionTable Subscriptions { get; } = new();

    /// <summary>Starts linking to the backends and opens the MQTT port.</summary>
    public static async Task<FrontendNode> StartAsync(FrontendOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.Backends.Count == 0)
        {
            throw new ArgumentException("A frontend needs at least one backend.", nameof(options));
        }

        var mqttOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(options.Mqtt.Address)
            .WithDefaultEndpointPort(options.Mqtt.Port)
            .WithMaxPendingMessagesPerClient(options.MaxPendingMessagesPerClient)
            .Build();

        // One listener, on the address asked: MQTTnet would otherwise bind IPv6 too, on another port when 0 is asked.
        mqttOptions.DefaultEndpointOptions.BoundInterNetworkV6Address = IPAddress.None;
        var server = new MqttServerFactory().CreateMqttServer(mqttOptions);
        var node = new FrontendNode(options, server, loggerFactory);
        for (var i = 0; i < node._links.Length; i++)
        {
            node._running[i] = node._links[i].RunAsync(node._stopping.Token);
        }

        await server.StartAsync().ConfigureAwait(false);

        // MQTTnet writes the port it bound back into its options.
        node.MqttEndPoint = new IPEndPoint(options.Mqtt.Address, mqttOptions.DefaultEndpointOptions.Port);
        return node;
    }

    /// <summary>Waits until every partition has been linked once; fails with the links' errors after <paramref name="timeout"/>.</summary>
    public async Task WaitForBackendsAsync(TimeSpan timeout)
    {
        try
        {
            await Task.WhenAll(_links.Select(l => l.FirstLinked)).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Frontend {Options.Name} did not link to every backend within {timeout.TotalSeconds:0.#} s: {DescribeLinks()}");
        }
    }

    /// <summary>What partition <paramref name="partition"/>'s current connection negotiated; null while it is down.</summary>
    public Broker.Transport.Security.ConnectionSecurityInfo? LinkSecurity(int partition) => _links[partition].Security;

    /// <summary>Each partition's state, for logs and errors.</summary>
    public string DescribeLinks() => string.Join("; ", _links.Select(l =>
        $"partition {l.Partition} ({l.EndPoint}) {(l.IsUp ? "linked" : "down: " + (l.LastError?.Message ?? "connecting"))}, {l.PendingCount} pending"));

    /// <summary>Closes the MQTT port (clients are disconnected) and the links.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _server.StopAsync(new MqttServerStopOptions()).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running).ConfigureAwait(false);
        foreach (var link in _links)
        {
            link.Dispose();
        }

        _server.Dispose();
        _stopping.Dispose();
    }

    /// <summary>A delivery from a backend: into the MQTT server, which sends it to each matching local subscriber.</summary>
    internal async ValueTask DeliverAsync(BrokerMessage delivery, int partition, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessage
        {
            Topic = delivery.Text,

            // The frame's bytes are the transport's buffer, reused after this read; MQTTnet queues the message.
            Payload = new ReadOnlySequence<byte>(delivery.Payload.ToArray()),
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)delivery.Qos,
        };
        try
        {
            await _server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { CustomSessionItems = _fromBackends }, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _deliveries);
        }
        catch (Exception ex) when (ex is ArgumentException or MqttProtocolViolationException)
        {
            SampleLog.DeliveryFailed(_log, Options.Name, delivery.Text, partition, ex.Message);
        }
    }
}
