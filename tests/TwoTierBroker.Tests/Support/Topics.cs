using TwoTierBroker.Protocol;

namespace TwoTierBroker.Tests.Support;

/// <summary>Topics chosen by the partition that owns them, so a test knows it crosses both.</summary>
internal static class Topics
{
    /// <summary><paramref name="count"/> topics <c>{prefix}{i}{suffix}</c> owned by <paramref name="partition"/> of <paramref name="partitions"/>.</summary>
    public static List<string> OwnedBy(int partition, int partitions, int count, string prefix, string suffix = "")
        => [.. Enumerable.Range(0, 10_000).Select(i => $"{prefix}{i}{suffix}").Where(t => Partitioner.Owner(t, partitions) == partition).Take(count)];

    /// <summary>A payload that says which message it is and lets any corruption show: the sequence number, then bytes derived from it.</summary>
    public static byte[] Payload(int sequence, int size = 256)
    {
        var payload = new byte[size];
        BitConverter.TryWriteBytes(payload, sequence);
        for (var i = 4; i < size; i++)
        {
            payload[i] = (byte)((sequence * 31) + (i * 7));
        }

        return payload;
    }

    /// <summary>The sequence number of an intact payload; throws when the bytes are not what <see cref="Payload"/> made.</summary>
    public static int Check(byte[] payload, int size = 256)
    {
        var sequence = BitConverter.ToInt32(payload);
        Assert.True(payload.AsSpan().SequenceEqual(Payload(sequence, size)), $"The payload of message {sequence} arrived changed ({payload.Length} bytes).");
        return sequence;
    }
}
