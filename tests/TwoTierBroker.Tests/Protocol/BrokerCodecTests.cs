using System.Buffers;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Tests.Protocol;

/// <summary>The internal protocol's codec: every message round-trips, the version comes first, and every malformed frame is refused with its reason.</summary>
public class BrokerCodecTests
{
    public static TheoryData<string> Messages() => [.. Samples.Keys];

    private static readonly Dictionary<string, BrokerMessage> Samples = new()
    {
        ["hello"] = BrokerMessage.Hello("frontend-0"),
        ["welcome"] = BrokerMessage.Welcome("backend-1"),
        ["subscribe"] = BrokerMessage.Subscribe(7, "plant/+/temperature"),
        ["unsubscribe"] = BrokerMessage.Unsubscribe(ulong.MaxValue, "plant/#"),
        ["publish qos 0"] = BrokerMessage.Publish(0, 0, "plant-7/line-3/temperature", new ReadOnlySequence<byte>("{\"v\":1}"u8.ToArray())),
        ["publish qos 1"] = BrokerMessage.Publish(42, 1, "plant-é/línea", new ReadOnlySequence<byte>(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray())),
        ["ack"] = BrokerMessage.Ack(42),
        ["ack refused"] = BrokerMessage.Ack(43, AckStatus.Refused, "no"),
        ["ack retry"] = BrokerMessage.Ack(44, AckStatus.Retry, "again"),
        ["delivery qos 1"] = BrokerMessage.Delivery(5, 1, "a/b", new ReadOnlySequence<byte>([0, 255, 10])),
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_message_decodes_to_what_was_encoded(string name)
    {
        var message = Samples[name];
        var bytes = Encode(message);
        Assert.Equal(BrokerCodec.Version, bytes[0]);
        Assert.Equal((byte)message.Kind, bytes[1]);
        var decoded = BrokerCodec.Decode(new ReadOnlySequence<byte>(bytes));
        Assert.Equal((message.Kind, message.Id, message.Qos, message.Status, message.Text), (decoded.Kind, decoded.Id, decoded.Qos, decoded.Status, decoded.Text));
        Assert.Equal(message.Payload.ToArray(), decoded.Payload.ToArray());
    }

    [Fact]
    public void A_publish_is_laid_out_as_the_codec_documents()
    {
        var bytes = Encode(BrokerMessage.Publish(0x0102030405060708, 1, "a/b", new ReadOnlySequence<byte>("xy"u8.ToArray())));
        Assert.Equal(new byte[] { 1, 5, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 3, (byte)'a', (byte)'/', (byte)'b', (byte)'x', (byte)'y' }, bytes);
    }

    [Fact]
    public void Another_version_is_refused_with_both_versions_named()
    {
        var bytes = Encode(BrokerMessage.Hello("f"));
        bytes[0] = 2;
        var error = Assert.Throws<ProtocolException>(() => BrokerCodec.Decode(new ReadOnlySequence<byte>(bytes)));
        Assert.Equal("The peer speaks version 2 of the internal protocol; this build speaks version 1. Run the same version of the broker on frontends and backends.", error.Message);
    }

    [Theory]
    [InlineData(new byte[0], "An empty frame is not a message: every message starts with the protocol version.")]
    [InlineData(new byte[] { 1 }, "The message ends after its version: the kind is missing.")]
    [InlineData(new byte[] { 1, 9 }, "Unknown message kind 9 (version 1 has 1 to 7).")]
    [InlineData(new byte[] { 1, 3, 0, 0, 0 }, "A Subscribe message ends before its id.")]
    [InlineData(new byte[] { 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 1, (byte)'a' }, "A Publish message carries QoS 2; the internal protocol carries QoS 0 and 1.")]
    [InlineData(new byte[] { 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, (byte)'a' }, "A QoS 1 Publish carries id 0; a message to acknowledge needs an id above 0.")]
    [InlineData(new byte[] { 1, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 1, (byte)'a' }, "A QoS 0 Delivery carries id 3; QoS 0 is never acknowledged, so its id must be 0.")]
    [InlineData(new byte[] { 1, 6, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0 }, "An ack's status is 3; 0 (accepted), 1 (refused) and 2 (retry) exist.")]
    [InlineData(new byte[] { 1, 1, 0, 5, (byte)'a' }, "A Hello message announces 5 bytes of text; 1 follow.")]
    [InlineData(new byte[] { 1, 1, 0, 1, (byte)'a', 0 }, "A Hello message has 1 bytes after its last field.")]
    [InlineData(new byte[] { 1, 1, 0, 1, 0xff }, "A Hello message's text is not valid UTF-8.")]
    [InlineData(new byte[] { 1, 1, 0, 1, 0 }, "A Hello message's text holds U+0000, which MQTT forbids in topics and names.")]
    [InlineData(new byte[] { 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, "A Subscribe message has an empty topic filter.")]
    [InlineData(new byte[] { 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "A Publish message has an empty topic.")]
    public void A_malformed_frame_is_refused_with_what_is_wrong(byte[] frame, string message)
    {
        var error = Assert.Throws<ProtocolException>(() => BrokerCodec.Decode(new ReadOnlySequence<byte>(frame)));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Text_longer_than_MQTT_allows_cannot_be_encoded()
    {
        var error = Assert.Throws<ArgumentException>(() => BrokerCodec.GetSize(BrokerMessage.Subscribe(1, new string('a', 65_536))));
        Assert.StartsWith("The Subscribe text is 65536 bytes of UTF-8; at most 65535 fit.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_partitioner_is_stable_and_spreads_topics_over_every_partition()
    {
        // Pinned values: every frontend of every version must agree on who owns a topic.
        Assert.Equal(Partitioner.Owner("plant-7/line-3/press-12/temperature", 2), Partitioner.Owner("plant-7/line-3/press-12/temperature", 2));
        Assert.Equal(0, Partitioner.Owner("a", 1));
        Assert.Equal([0, 1, 0, 1], new[] { "a", "b", "c", "d" }.Select(t => Partitioner.Owner(t, 2)).ToArray());
        var counts = Enumerable.Range(0, 1000).Select(i => Partitioner.Owner($"plant/line-{i}/temperature", 4)).CountBy(p => p).ToDictionary();
        Assert.Equal(4, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 150, 350));
    }

    private static byte[] Encode(BrokerMessage message)
    {
        var bytes = new byte[BrokerCodec.GetSize(message)];
        BrokerCodec.Encode(message, bytes);
        return bytes;
    }
}
