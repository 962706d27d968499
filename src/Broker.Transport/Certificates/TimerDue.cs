namespace Broker.Transport.Certificates;

/// <summary>How long to arm a one-shot timer for an instant, as the certificate sources' timers do.</summary>
internal static class TimerDue
{
    /// <summary>
    /// The longest a timer is armed for. Timers refuse more than 2^32-2 ms (49.7 days), less than the default
    /// leaf's renewal (60 days) and root's; they are re-armed until the instant is reached, which also keeps a
    /// change of the wall clock from shifting a renewal by more than a day.
    /// </summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    /// <summary>
    /// How long to arm a timer for <paramref name="when"/>: rounded up to the millisecond (timers count whole
    /// milliseconds, and must not fire before the instant), at most <see cref="MaxWait"/>. A timer that fires
    /// before its instant is re-armed by its handler.
    /// </summary>
    public static TimeSpan Until(TimeProvider time, DateTimeOffset when)
    {
        var due = when - time.GetUtcNow();
        if (due <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        if (due >= MaxWait)
        {
            return MaxWait;
        }

        var milliseconds = (due.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        return TimeSpan.FromMilliseconds(milliseconds);
    }
}
