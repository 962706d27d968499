using Broker.Transport.Security;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using TwoTierBroker.Tests.Support;

namespace TwoTierBroker.Tests.EndToEnd;

/// <summary>
/// The <c>all</c> cluster in process (two frontends, two backends on loopback, the embedded issuer when
/// Enabled) with MQTTnet clients: what a client publishes on one frontend reaches subscribers on the other,
/// through whichever backend owns the topic.
/// </summary>
public class PublishSubscribeTests
{
    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(EncryptInternalTraffic.Enabled, MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(EncryptInternalTraffic.Enabled, MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(EncryptInternalTraffic.Disabled, MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(EncryptInternalTraffic.Disabled, MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce)]
    public async Task A_publish_on_frontend_A_reaches_a_subscriber_on_frontend_B(EncryptInternalTraffic mode, MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        var (cluster, logs) = await Clusters.StartAsync(mode);
        await using var _ = cluster;
        var (a, b) = (cluster.Frontends[0], cluster.Frontends[1]);
        for (var partition = 0; partition < 2; partition++)
        {
            Assert.Equal(mode == EncryptInternalTraffic.Enabled, b.LinkSecurity(partition)!.IsEncrypted);
        }

        var topics = Topics.OwnedBy(0, 2, 10, "plant-1/line-", "/temperature").Concat(Topics.OwnedBy(1, 2, 10, "plant-1/line-", "/temperature")).ToList();
        await using var subscriber = await Subscriber.StartAsync(b.MqttEndPoint, qos, version, "plant-1/#");
        using var publisher = await MqttClients.ConnectAsync(a.MqttEndPoint, version);
        for (var i = 0; i < topics.Count; i++)
        {
            var result = await MqttClients.PublishAsync(publisher, topics[i], Topics.Payload(i), qos);
            Assert.True(result.IsSuccess, $"PUBLISH {topics[i]}: {result.ReasonCode} {result.ReasonString}");
        }

        await subscriber.WaitForAsync(topics.Count, what: Clusters.Text(logs));
        var received = subscriber.Received.ToDictionary(r => Topics.Check(r.Payload), r => r.Topic);
        Assert.Equal(Enumerable.Range(0, topics.Count).Select(i => (i, topics[i])), received.OrderBy(r => r.Key).Select(r => (r.Key, r.Value)));
        Assert.All(cluster.Backends, backend => Assert.Equal(10, backend.Published));
        Assert.Equal(topics.Count, await subscriber.CountAfterQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Wildcard_subscriptions_span_partitions_and_match_as_MQTT_says()
    {
        var (cluster, logs) = await Clusters.StartAsync(EncryptInternalTraffic.Enabled);
        await using var _ = cluster;
        await using var subscriber = await Subscriber.StartAsync(cluster.Frontends[1].MqttEndPoint, MqttQualityOfServiceLevel.AtLeastOnce, MqttProtocolVersion.V500, "site/+/temperature", "site/line-1/#");
        using var publisher = await MqttClients.ConnectAsync(cluster.Frontends[0].MqttEndPoint);

        string[] topics =
        [
            .. Enumerable.Range(0, 12).Select(i => $"site/line-{i}/temperature"),     // + matches one level: all match
            "site/line-1/press/rpm", "site/line-1", "site/line-1/x/y/z",              // # matches the parent and any depth
            "site/line-2/press/temperature", "site/temperature", "other/line-1/temperature", // no match
        ];
        string[] expected = [.. topics.Take(15)];
        Assert.Equal([0, 1], expected.Select(t => TwoTierBroker.Protocol.Partitioner.Owner(t, 2)).Distinct().Order());
        for (var i = 0; i < topics.Length; i++)
        {
            var result = await MqttClients.PublishAsync(publisher, topics[i], Topics.Payload(i), MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.True(result.IsSuccess, $"{topics[i]}: {result.ReasonCode}");
        }

        await subscriber.WaitForAsync(expected.Length, what: Clusters.Text(logs));
        Assert.Equal(expected.Length, await subscriber.CountAfterQuietAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(expected.Order(StringComparer.Ordinal), subscriber.Received.Select(r => r.Topic).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_filter_held_by_two_clients_of_a_frontend_stays_until_the_last_one_lets_go()
    {
        var (cluster, logs) = await Clusters.StartAsync(EncryptInternalTraffic.Disabled);
        await using var _ = cluster;
        var b = cluster.Frontends[1].MqttEndPoint;
        await using var first = await Subscriber.StartAsync(b, MqttQualityOfServiceLevel.AtLeastOnce, MqttProtocolVersion.V500, "shared/#");
        await using var second = await Subscriber.StartAsync(b, MqttQualityOfServiceLevel.AtLeastOnce, MqttProtocolVersion.V311, "shared/#");
        using var publisher = await MqttClients.ConnectAsync(cluster.Frontends[0].MqttEndPoint);
        var topics = Topics.OwnedBy(0, 2, 3, "shared/").Concat(Topics.OwnedBy(1, 2, 3, "shared/")).ToList();

        async Task PublishAllAsync(int from)
        {
            for (var i = 0; i < topics.Count; i++)
            {
                Assert.True((await MqttClients.PublishAsync(publisher, topics[i], Topics.Payload(from + i), MqttQualityOfServiceLevel.AtLeastOnce)).IsSuccess);
            }
        }

        await PublishAllAsync(0);
        await first.WaitForAsync(6, what: Clusters.Text(logs));
        await second.WaitForAsync(6, what: Clusters.Text(logs));

        // The first client leaves the filter: the backends must keep sending it to frontend B for the second.
        await first.Client.UnsubscribeAsync(new MQTTnet.MqttClientUnsubscribeOptionsBuilder().WithTopicFilter("shared/#").Build(), TestContext.Current.CancellationToken);
        await PublishAllAsync(100);
        await second.WaitForAsync(12, what: Clusters.Text(logs));
        Assert.Equal(6, await first.CountAfterQuietAsync(TimeSpan.FromMilliseconds(300)));

        // The second leaves by disconnecting (its clean session ends): nothing goes to frontend B any more.
        var delivered = cluster.Backends.Sum(x => x.Delivered);
        await second.DisposeAsync();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        await PublishAllAsync(200);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal(delivered, cluster.Backends.Sum(x => x.Delivered));
    }
}
