namespace TwoTierBroker.Frontend;

/// <summary>
/// How long a frontend waits before it tries a backend again: exponential from <see cref="Initial"/>,
/// doubling to <see cref="Max"/>, each delay drawn between half and all of that ("equal jitter"), so
/// frontends that lost the same backend do not come back in step. Once the library has its connection
/// keeper (the cluster issue), <see cref="BackendLink"/> takes its connections from it and this goes.
/// </summary>
public sealed record ReconnectBackoff
{
    /// <summary>The first delay's upper bound. Defaults to 100 ms.</summary>
    public TimeSpan Initial { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The largest delay. Defaults to 5 seconds.</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The delay before attempt <paramref name="attempt"/> (0 for the first retry), with its jitter.</summary>
    public TimeSpan Delay(int attempt, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        var ceiling = Math.Min(Max.TotalMilliseconds, Initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (0.5 * random.NextDouble())));
#pragma warning restore CA5394
    }
}
