using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Bogus;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Broker-ish payloads: MQTT-style telemetry (a topic such as <c>plant-7/line-3/press-12/temperature</c>
/// and a small JSON body) made up by Bogus from a fixed seed, so every run moves the same bytes. Each
/// message is laid out like an MQTT PUBLISH: a 2-byte big-endian topic length, the topic, then the body.
/// </summary>
internal static partial class Telemetry
{
    private static readonly string[] Machines = ["press", "lathe", "robot", "oven", "conveyor", "mixer", "pump"];
    private static readonly string[] Qualities = ["good", "good", "good", "uncertain", "bad"];
    private static readonly (string Metric, string Unit)[] Metrics =
    [
        ("temperature", "C"), ("pressure", "bar"), ("vibration", "mm/s"), ("rpm", "1/min"), ("power", "kW"), ("humidity", "%"),
    ];

    private static readonly DateTimeOffset Epoch = new(2025, 3, 14, 6, 0, 0, TimeSpan.Zero);

    /// <summary>Makes <paramref name="count"/> messages, each of a different length (about 180 to 240 bytes).</summary>
    public static byte[][] Messages(int count, int seed)
    {
        var faker = new Faker("en") { Random = new Randomizer(seed) };
        var messages = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            messages[i] = Message(faker, i);
        }

        return messages;
    }

    /// <summary>
    /// Makes <paramref name="count"/> payloads of exactly <paramref name="size"/> bytes each: one message
    /// per payload, padded with spaces (JSON whitespace) when <paramref name="size"/> is larger than the
    /// message, or messages back to back (the last one cut) when it is much larger.
    /// </summary>
    public static byte[][] FixedSize(int count, int size, int seed)
    {
        var faker = new Faker("en") { Random = new Randomizer(seed) };
        var payloads = new byte[count][];
        var sequence = 0;
        for (var i = 0; i < count; i++)
        {
            payloads[i] = Fill(faker, size, ref sequence);
        }

        return payloads;
    }

    /// <summary>
    /// One payload of exactly <paramref name="size"/> bytes: one message padded with spaces (JSON whitespace)
    /// when only one fits, else messages back to back, the last one cut.
    /// </summary>
    private static byte[] Fill(Faker faker, int size, ref int sequence)
    {
        var payload = new byte[size];
        var filled = 0;
        while (filled < size)
        {
            var message = Message(faker, sequence++);
            if (filled == 0 && message.Length <= size && size - message.Length < message.Length)
            {
                // One message is all that fits: pad the rest of the payload.
                message.CopyTo(payload, 0);
                payload.AsSpan(message.Length).Fill((byte)' ');
                break;
            }

            var take = Math.Min(message.Length, size - filled);
            message.AsSpan(0, take).CopyTo(payload.AsSpan(filled));
            filled += take;
        }

        return payload;
    }

    /// <summary>Reads a message's topic back, for printing.</summary>
    public static string Topic(ReadOnlySpan<byte> message)
        => Encoding.UTF8.GetString(message.Slice(2, BinaryPrimitives.ReadUInt16BigEndian(message)));

    private static byte[] Message(Faker faker, int sequence)
    {
        var (metric, unit) = faker.PickRandom(Metrics);
        var topic = string.Create(
            CultureInfo.InvariantCulture,
            $"plant-{faker.Random.Int(1, 9)}/line-{faker.Random.Int(1, 12)}/{faker.PickRandom(Machines)}-{faker.Random.Int(1, 40)}/{metric}");
        var body = string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"ts":"{{Epoch.AddMilliseconds(sequence * 250L):O}}","seq":{{sequence}},"value":{{faker.Random.Double(-20, 400):F3}},"unit":"{{unit}}","quality":"{{faker.PickRandom(Qualities)}}","device":"{{faker.Random.Guid()}}","firmware":"{{faker.System.Semver()}}"}""");

        var topicLength = Encoding.UTF8.GetByteCount(topic);
        var message = new byte[2 + topicLength + Encoding.UTF8.GetByteCount(body)];
        BinaryPrimitives.WriteUInt16BigEndian(message, (ushort)topicLength);
        Encoding.UTF8.GetBytes(topic, message.AsSpan(2));
        Encoding.UTF8.GetBytes(body, message.AsSpan(2 + topicLength));
        return message;
    }
}
