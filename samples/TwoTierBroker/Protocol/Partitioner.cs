using System.Text;

namespace TwoTierBroker.Protocol;

/// <summary>
/// Which backend owns a topic: a stable hash (32-bit FNV-1a over the topic's UTF-8) modulo the number of
/// backends, in the order the frontend was given them. Every frontend must list the backends in the same
/// order, and adding a backend moves most topics (a sample's choice: no consistent hashing, no rebalancing).
/// </summary>
public static class Partitioner
{
    /// <summary>The index, from 0 to <paramref name="partitions"/> - 1, of the backend that owns <paramref name="topic"/>.</summary>
    public static int Owner(string topic, int partitions)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        Span<byte> small = stackalloc byte[256];
        var count = Encoding.UTF8.GetByteCount(topic);
        var bytes = count <= small.Length ? small[..count] : new byte[count];
        Encoding.UTF8.GetBytes(topic, bytes);
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitions);
    }
}
