using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace TwoTierBroker.Tests.Support;

/// <summary>MQTTnet clients against a frontend's MQTT port, as an application would use them.</summary>
internal static class MqttClients
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly MqttClientFactory Factory = new();

    /// <summary>Connects a clean-session client; fails with the CONNACK's code and reason when refused.</summary>
    public static async Task<IMqttClient> ConnectAsync(IPEndPoint endpoint, MqttProtocolVersion version = MqttProtocolVersion.V500, string? clientId = null)
    {
        var (client, result) = await TryConnectAsync(endpoint, version, clientId);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new Xunit.Sdk.XunitException($"CONNECT to {endpoint} refused: {result.ResultCode} {result.ReasonString}");
        }

        return client;
    }

    public static async Task<(IMqttClient Client, MqttClientConnectResult Result)> TryConnectAsync(IPEndPoint endpoint, MqttProtocolVersion version = MqttProtocolVersion.V500, string? clientId = null)
    {
        var client = Factory.CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Address.ToString(), endpoint.Port)
            .WithProtocolVersion(version)
            .WithClientId(clientId ?? $"test-{Guid.NewGuid():N}")
            .WithCleanSession()
            .WithTimeout(Timeout)
            .Build();
        using var timeout = new CancellationTokenSource(Timeout);
        var result = await client.ConnectAsync(options, timeout.Token);
        return (client, result);
    }

    public static async Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, byte[] payload, MqttQualityOfServiceLevel qos)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build(),
            timeout.Token);
    }
}

/// <summary>A subscriber that keeps what it receives, and waits for it with a bound.</summary>
internal sealed class Subscriber : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Topic, byte[] Payload)> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _disposed;

    private Subscriber(IMqttClient client)
    {
        Client = client;
        client.ApplicationMessageReceivedAsync += e =>
        {
            _received.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            _arrived.Release();
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public IReadOnlyCollection<(string Topic, byte[] Payload)> Received => _received;

    public static async Task<Subscriber> StartAsync(IPEndPoint endpoint, MqttQualityOfServiceLevel qos, MqttProtocolVersion version, params string[] filters)
    {
        var subscriber = new Subscriber(await MqttClients.ConnectAsync(endpoint, version));
        var options = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            options.WithTopicFilter(filter, qos);
        }

        using var timeout = new CancellationTokenSource(MqttClients.Timeout);
        var result = await subscriber.Client.SubscribeAsync(options.Build(), timeout.Token);
        foreach (var item in result.Items)
        {
            Assert.True(item.ResultCode <= MQTTnet.MqttClientSubscribeResultCode.GrantedQoS2, $"SUBSCRIBE {item.TopicFilter.Topic}: {item.ResultCode} {result.ReasonString}");
        }

        return subscriber;
    }

    /// <summary>Waits until <paramref name="count"/> messages have arrived (or more); fails with what did arrive.</summary>
    public async Task WaitForAsync(int count, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? MqttClients.Timeout);
        while (_received.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
            {
                if (_received.Count >= count)
                {
                    return;
                }

                throw new TimeoutException($"{_received.Count} of {count} messages arrived{(what is null ? string.Empty : $" ({what})")}; topics: {string.Join(", ", _received.Select(r => r.Topic).Distinct().Take(20))}");
            }
        }
    }

    /// <summary>Waits until every sequence number from 0 to <paramref name="count"/> - 1 has arrived at least once (duplicates allowed); fails with the missing ones.</summary>
    public async Task WaitForEverySequenceAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? MqttClients.Timeout);
        while (true)
        {
            var seen = _received.Select(r => Topics.Check(r.Payload)).ToHashSet();
            if (Enumerable.Range(0, count).All(seen.Contains))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                var missing = Enumerable.Range(0, count).Where(i => !seen.Contains(i)).ToList();
                throw new TimeoutException($"{missing.Count} of {count} messages never arrived (first: {string.Join(", ", missing.Take(10))}); {_received.Count} deliveries in all.");
            }

            await _arrived.WaitAsync(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Waits a short while to see that nothing more arrives.</summary>
    public async Task<int> CountAfterQuietAsync(TimeSpan quiet)
    {
        await Task.Delay(quiet);
        return _received.Count;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Client.DisconnectAsync(new MqttClientDisconnectOptions(), timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
        {
        }

        Client.Dispose();
        _arrived.Dispose();
    }
}
