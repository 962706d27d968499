using System.Collections.Concurrent;
using System.Net;
using Broker.Transport;
using Broker.Transport.Configuration;
using Broker.Transport.Security;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using TwoTierBroker.Tests.Support;

namespace TwoTierBroker.Tests.EndToEnd;

/// <summary>What the broker does when a backend goes away, and when a frontend's encryption disagrees with its backends'.</summary>
public class FailureTests
{
    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task QoS1_publishes_survive_a_backend_killed_and_restarted_mid_stream(bool crash)
    {
        var (cluster, logs) = await Clusters.StartAsync(EncryptInternalTraffic.Enabled);
        await using var _ = cluster;
        const int publishers = 4, perPublisher = 150;
        var topics = Topics.OwnedBy(0, 2, 8, "load/sensor-").Concat(Topics.OwnedBy(1, 2, 8, "load/sensor-")).ToList();
        await using var subscriber = await Subscriber.StartAsync(cluster.Frontends[1].MqttEndPoint, MqttQualityOfServiceLevel.AtLeastOnce, MqttProtocolVersion.V500, "load/#");
        var acked = 0;
        var failures = new ConcurrentQueue<string>();
        var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streams = Enumerable.Range(0, publishers).Select(async p =>
        {
            using var client = await MqttClients.ConnectAsync(cluster.Frontends[0].MqttEndPoint);
            for (var i = 0; i < perPublisher; i++)
            {
                var sequence = (p * perPublisher) + i;
                var result = await MqttClients.PublishAsync(client, topics[sequence % topics.Count], Topics.Payload(sequence), MqttQualityOfServiceLevel.AtLeastOnce);
                if (!result.IsSuccess)
                {
                    failures.Enqueue($"{sequence}: {result.ReasonCode} {result.ReasonString}");
                }

                if (Interlocked.Increment(ref acked) == publishers * perPublisher / 3)
                {
                    halfway.TrySetResult();
                }
            }
        }).ToList();

        // A third of the way in, backend 0 goes (gracefully, or as a crash: unsent bytes dropped) and comes back empty.
        await halfway.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        if (crash)
        {
            await cluster.KillBackendAsync(0);
        }
        else
        {
            await cluster.StopBackendAsync(0);
        }

        await Task.Delay(300, TestContext.Current.CancellationToken);
        cluster.RestartBackend(0);
        await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);

        Assert.True(failures.IsEmpty, $"Publishes refused: {string.Join("; ", failures.Take(5))}\n{Clusters.Text(logs)}");
        // Every message at least once, intact (Check compares every byte); duplicates are QoS 1's right.
        await subscriber.WaitForEverySequenceAsync(publishers * perPublisher);
        Assert.All(subscriber.Received, r => Assert.Equal(topics[Topics.Check(r.Payload) % topics.Count], r.Topic));
        Assert.Contains("re-sent", Clusters.Text(logs), StringComparison.Ordinal);
        Assert.Equal(2, cluster.Frontends[0].LinkedPartitions);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_Disabled_frontend_against_Enabled_backends_logs_the_mismatch_and_refuses_clients()
    {
        var (cluster, _) = await Clusters.StartAsync(EncryptInternalTraffic.Enabled, frontends: 1);
        await using var __ = cluster;
        var (factory, logs) = Clusters.Logging();
        await using var frontend = await TwoTierBroker.Frontend.FrontendNode.StartAsync(
            Clusters.Fast(new TwoTierBroker.Frontend.FrontendOptions
            {
                Mqtt = new IPEndPoint(IPAddress.Loopback, 0),
                Backends = [.. cluster.Backends.Select(b => (EndPoint)b.EndPoint)],
                Transport = new Broker.Transport.Connections.TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled },
                Name = "plaintext-frontend",
            }),
            factory);

        // The transport's own error, in the frontend's log: a plaintext frontend learns of the TLS backend on its first read.
        var refused = await WaitForLogAsync(logs, "EncryptionMismatchException");
        Assert.Contains("was refused by the transport (EncryptionMismatchException)", refused, StringComparison.Ordinal);
        Assert.Equal(0, frontend.LinkedPartitions);

        // No publish it cannot deliver: the CONNECT itself is refused, MQTT 5 with the reason, 3.1.1 with "server unavailable".
        var (v5, result) = await MqttClients.TryConnectAsync(frontend.MqttEndPoint, MqttProtocolVersion.V500);
        v5.Dispose();
        Assert.Equal(MQTTnet.MqttClientConnectResultCode.ServerUnavailable, result.ResultCode);
        Assert.StartsWith("no backend is linked: partition 0", result.ReasonString, StringComparison.Ordinal);
        var (v3, result3) = await MqttClients.TryConnectAsync(frontend.MqttEndPoint, MqttProtocolVersion.V311);
        v3.Dispose();
        Assert.Equal(MQTTnet.MqttClientConnectResultCode.ServerUnavailable, result3.ResultCode);
        Assert.Equal(0, cluster.Backends.Sum(b => b.Published));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_QoS1_publish_for_a_partition_the_transport_refuses_gets_an_error_not_a_success()
    {
        // Partition 0 is a Disabled backend (linked), partition 1 an Enabled one (refused): the frontend takes
        // clients, delivers what partition 0 owns, and refuses what partition 1 owns.
        var (plain, _) = await Clusters.StartAsync(EncryptInternalTraffic.Disabled, frontends: 1, backends: 1);
        await using var ___ = plain;
        var (tls, _) = await Clusters.StartAsync(EncryptInternalTraffic.Enabled, frontends: 1, backends: 1);
        await using var ____ = tls;
        var (factory, logs) = Clusters.Logging();
        await using var frontend = await TwoTierBroker.Frontend.FrontendNode.StartAsync(
            Clusters.Fast(new TwoTierBroker.Frontend.FrontendOptions
            {
                Mqtt = new IPEndPoint(IPAddress.Loopback, 0),
                Backends = [plain.Backends[0].EndPoint, tls.Backends[0].EndPoint],
                Transport = new Broker.Transport.Connections.TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled },
                Name = "half-linked",
            }),
            factory);
        await WaitForLogAsync(logs, "EncryptionMismatchException");
        await WaitForLogAsync(logs, "linked to backend");
        var good = Topics.OwnedBy(0, 2, 1, "half/")[0];
        var bad = Topics.OwnedBy(1, 2, 1, "half/")[0];

        using var v5 = await MqttClients.ConnectAsync(frontend.MqttEndPoint, MqttProtocolVersion.V500);
        Assert.True((await MqttClients.PublishAsync(v5, good, Topics.Payload(1), MqttQualityOfServiceLevel.AtLeastOnce)).IsSuccess);
        var refused = await MqttClients.PublishAsync(v5, bad, Topics.Payload(2), MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.ImplementationSpecificError, refused.ReasonCode);
        Assert.StartsWith("partition 1 (", refused.ReasonString, StringComparison.Ordinal);
        Assert.Contains("is refused by the transport: ", refused.ReasonString, StringComparison.Ordinal);

        // MQTT 3.1.1's PUBACK cannot carry an error: the client's connection is closed without one.
        using var v3 = await MqttClients.ConnectAsync(frontend.MqttEndPoint, MqttProtocolVersion.V311);
        await Assert.ThrowsAnyAsync<Exception>(() => MqttClients.PublishAsync(v3, bad, Topics.Payload(3), MqttQualityOfServiceLevel.AtLeastOnce));
        Assert.False(v3.IsConnected);
        Assert.Equal(1, plain.Backends[0].Published);
        Assert.Equal(0, tls.Backends[0].Published);
    }

    private static async Task<string> WaitForLogAsync(Microsoft.Extensions.Logging.Testing.FakeLogCollector logs, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (logs.GetSnapshot().FirstOrDefault(r => r.Message.Contains(text, StringComparison.Ordinal)) is { } record)
            {
                return record.Message;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"No log line with '{text}' within 30 s:\n{Clusters.Text(logs)}");
    }
}
