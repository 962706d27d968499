using TwoTierBroker.Protocol;

namespace TwoTierBroker.Frontend;

/// <summary>
/// The topic filters a frontend's clients hold, each counted once per client session, and whether the
/// backends confirmed it. The backends see each filter once per frontend: on the first client's subscribe
/// and the last client's unsubscribe. Changes take <see cref="Lock"/> and are written to the links while it
/// is held, so every link sees subscribes and unsubscribes in the same order as the table; a link that
/// (re)connects takes the same lock to send the whole table.
/// </summary>
internal sealed class SubscriptionTable
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Held while the table changes and while its changes are written to the links.</summary>
    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>Every filter held now (call with <see cref="Lock"/> held).</summary>
    public string[] Snapshot() => [.. _entries.Keys];

    /// <summary>Counts one more session holding <paramref name="filter"/>; null when it is new (the caller sends it), else the confirmation of its first send.</summary>
    public Task<AckResult>? Add(string filter)
    {
        if (_entries.TryGetValue(filter, out var entry))
        {
            entry.Count++;
            return entry.Confirmed;
        }

        _entries[filter] = new Entry();
        return null;
    }

    /// <summary>Records how the first send of <paramref name="filter"/> will be confirmed.</summary>
    public void SetConfirmation(string filter, Task<AckResult> confirmed) => _entries[filter].Confirmed = confirmed;

    /// <summary>Counts one session fewer; true when it was the last (the caller sends the unsubscribe).</summary>
    public bool Remove(string filter)
    {
        if (!_entries.TryGetValue(filter, out var entry))
        {
            return false;
        }

        if (--entry.Count > 0)
        {
            return false;
        }

        _entries.Remove(filter);
        return true;
    }

    private sealed class Entry
    {
        public int Count { get; set; } = 1;

        public Task<AckResult> Confirmed { get; set; } = Task.FromResult(AckResult.Success);
    }
}

/// <summary>How a request through the internal hop ended.</summary>
/// <param name="Ok">Whether it was taken.</param>
/// <param name="Reason">Why not, for the client and the log; null when accepted.</param>
internal readonly record struct AckResult(bool Ok, string? Reason)
{
    public static AckResult Success { get; } = new(true, null);

    public static AckResult Refused(string reason) => new(false, reason);

    public static AckResult From(BrokerMessage ack) => ack.Status == AckStatus.Accepted ? Success : Refused(ack.Text);
}
