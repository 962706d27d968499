using System.Buffers;
using System.Diagnostics;
using System.Net;
using Broker.Transport.Configuration;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;
using TwoTierBroker.Cluster;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// One way for MQTT messages to go from publishers to a subscriber, with the same MQTTnet clients on every
/// path: through the two-tier sample (<c>all</c>: two frontends, two backends, publishers on the first
/// frontend and the subscriber on the second, so every message crosses the internal hop twice), or through
/// one MQTTnet broker (no internal hop). The subscriber holds <c>#</c> at QoS 1, so each message arrives at
/// the QoS it was published with.
/// </summary>
internal sealed class MqttPath : IAsyncDisposable
{
    /// <summary>Publishing clients in the throughput runs: MQTTnet's server handles one client's packets one after another.</summary>
    public const int Publishers = 4;

    /// <summary>At most this many messages published and not yet delivered, so no queue overflows (MQTTnet drops the oldest past its limit).</summary>
    private const int Window = 256;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly List<IMqttClient> _publishers = [];
    private readonly SemaphoreSlim _credits = new(Window);
    private readonly Func<ValueTask> _stop;
    private IMqttClient _subscriber = null!;
    private long _received;
    private TaskCompletionSource<byte[]>? _next;

    private MqttPath(string name, Func<ValueTask> stop)
    {
        Name = name;
        _stop = stop;
    }

    /// <summary>Which path, for the tables.</summary>
    public string Name { get; }

    /// <summary>The two-tier sample in process, with the embedded issuer when Enabled.</summary>
    public static async Task<MqttPath> TwoTierAsync(EncryptInternalTraffic mode)
    {
        var cluster = await LocalCluster.StartAsync(
            new LocalClusterOptions { Mqtt = new IPEndPoint(IPAddress.Loopback, 0), Config = new BrokerConfig(mode) },
            NullLoggerFactory.Instance);
        var path = new MqttPath(mode.ToString(), () => cluster.DisposeAsync());
        await path.ConnectAsync(cluster.Frontends[0].MqttEndPoint, cluster.Frontends[1].MqttEndPoint);
        return path;
    }

    /// <summary>One MQTTnet broker, the frontends' MQTT settings, nothing behind it.</summary>
    public static async Task<MqttPath> SingleBrokerAsync()
    {
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(0)
            .WithMaxPendingMessagesPerClient(TwoTierBroker.Frontend.FrontendOptions.DefaultMaxPendingMessagesPerClient)
            .Build();
        options.DefaultEndpointOptions.BoundInterNetworkV6Address = IPAddress.None;
        var server = new MqttServerFactory().CreateMqttServer(options);
        await server.StartAsync();
        var endpoint = new IPEndPoint(IPAddress.Loopback, options.DefaultEndpointOptions.Port);
        var path = new MqttPath("Single broker", async () =>
        {
            await server.StopAsync(new MqttServerStopOptions());
            server.Dispose();
        });
        await path.ConnectAsync(endpoint, endpoint);
        return path;
    }

    /// <summary>
    /// Publishes <paramref name="count"/> messages (cycling through <paramref name="payloads"/>) from the
    /// publishers at once, at most <see cref="Window"/> undelivered; seconds per message from the first publish
    /// to the last delivery.
    /// </summary>
    public async Task<double> ThroughputAsync(MqttApplicationMessage[] payloads, int count)
    {
        var target = Interlocked.Read(ref _received) + count;
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(_publishers.Select(async client =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await _credits.WaitAsync();
                await client.PublishAsync(payloads[i % payloads.Length]);
            }
        })).WaitAsync(Timeout);
        using var timeout = new CancellationTokenSource(Timeout);
        while (Interlocked.Read(ref _received) < target)
        {
            await Task.Delay(1, timeout.Token);
        }

        return Stopwatch.GetElapsedTime(started).TotalSeconds / count;
    }

    /// <summary>One message at a time, each timed from its publish to its delivery; the seconds of each, sorted.</summary>
    public async Task<double[]> LatencyAsync(MqttApplicationMessage[] payloads, int count)
    {
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var message = payloads[i % payloads.Length];
            var arrived = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _next, arrived);
            var started = Stopwatch.GetTimestamp();
            var publish = _publishers[0].PublishAsync(message);
            var payload = await arrived.Task.WaitAsync(Timeout);
            times[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await publish;
            if (!payload.AsSpan().SequenceEqual(message.Payload.FirstSpan))
            {
                throw new InvalidOperationException($"{Name}: a {message.Payload.Length}-byte message on {message.Topic} arrived changed.");
            }
        }

        Array.Sort(times);
        return times;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _publishers.Append(_subscriber))
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions());
            client.Dispose();
        }

        await _stop();
        _credits.Dispose();
    }

    private async Task ConnectAsync(IPEndPoint publishTo, IPEndPoint subscribeAt)
    {
        var factory = new MqttClientFactory();
        _subscriber = factory.CreateMqttClient();
        _subscriber.ApplicationMessageReceivedAsync += e =>
        {
            Interlocked.Increment(ref _received);
            _credits.Release();
            Interlocked.Exchange(ref _next, null)?.TrySetResult(e.ApplicationMessage.Payload.ToArray());
            return Task.CompletedTask;
        };
        await _subscriber.ConnectAsync(Options(subscribeAt, "subscriber"));
        await _subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        for (var i = 0; i < Publishers; i++)
        {
            var publisher = factory.CreateMqttClient();
            await publisher.ConnectAsync(Options(publishTo, $"publisher-{i}"));
            _publishers.Add(publisher);
        }
    }

    private static MqttClientOptions Options(IPEndPoint endpoint, string id) => new MqttClientOptionsBuilder()
        .WithTcpServer(endpoint.Address.ToString(), endpoint.Port)
        .WithClientId(id)
        .WithCleanSession()
        .WithTimeout(Timeout)
        .Build();
}
