using Microsoft.Extensions.ObjectPool;

namespace Broker.Transport.Security;

/// <summary>
/// The token a handshake runs under: cancelled by the caller's token or when the timeout runs out, whichever
/// comes first, with <see cref="TimedOut"/> saying whether the timeout did. It is what
/// <c>new CancellationTokenSource(timeout, time)</c> and <c>CreateLinkedTokenSource(caller, timeout.Token)</c>
/// gave, without making and dropping two sources, a timer and their registrations at every connection: the
/// sources are pooled and reused through <see cref="CancellationTokenSource.TryReset"/> (measured by
/// <c>allocs connections</c>, see the benchmarks README).
/// </summary>
/// <remarks>
/// A source goes back to the pool only when nothing can cancel it any more: the registrations that feed it
/// (the caller's token, the timeout's) are disposed first, and <c>Dispose</c> of a registration waits for its
/// callback if it is running; then <see cref="CancellationTokenSource.TryReset"/> succeeds only for a source
/// not cancelled whose timer never fired (it refuses one whose timer was ever queued, and any timer not
/// the system's), and also drops the registrations made on its token (the socket's, SslStream's). A source it
/// refuses is disposed and replaced. Only <see cref="TimeProvider.System"/>'s timeouts are pooled; with another
/// clock (tests' <c>FakeTimeProvider</c>) each handshake makes its own timeout source, as before.
/// </remarks>
#pragma warning disable CA1001 // Pooled for the process's life; one the full pool drops holds only disarmed sources, nothing the GC cannot take.
internal sealed class HandshakeDeadline
#pragma warning restore CA1001
{
    // A deadline per pending handshake at the listener's default bound (MaxPendingHandshakes 256) is at most
    // about 100 KB held; past that a burst allocates as before.
    private static readonly ObjectPool<HandshakeDeadline> Pool = new DefaultObjectPool<HandshakeDeadline>(new Policy(), maximumRetained: 256);

    private CancellationTokenSource _linked = new();
    private CancellationTokenSource? _timeout;
    private bool _onSystemClock;
    private CancellationTokenRegistration _fromCaller;
    private CancellationTokenRegistration _fromTimeout;

    private HandshakeDeadline()
    {
    }

    /// <summary>Cancelled when the caller's token is, or when the timeout runs out.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the timeout ran out (whatever the caller did).</summary>
    public bool TimedOut => _timeout!.IsCancellationRequested;

    /// <summary>Starts a deadline <paramref name="timeout"/> from now on <paramref name="time"/>'s clock, also cancelled by <paramref name="cancellationToken"/>.</summary>
    public static HandshakeDeadline Start(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = Pool.Get();
        deadline._onSystemClock = time == TimeProvider.System;
        if (deadline._onSystemClock)
        {
            deadline._timeout ??= new CancellationTokenSource();
            deadline._timeout.CancelAfter(timeout);
        }
        else
        {
            deadline._timeout?.Dispose();
            deadline._timeout = new CancellationTokenSource(timeout, time);
        }

        var linked = deadline._linked;
        deadline._fromTimeout = deadline._timeout.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), linked);
        deadline._fromCaller = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), linked);
        return deadline;
    }

    /// <summary>The handshake is over, and nothing uses <see cref="Token"/> any more: back to the pool.</summary>
    public void Return()
    {
        // Waits for a callback that is running right now; after these, neither feeder can reach _linked.
        _fromCaller.Dispose();
        _fromTimeout.Dispose();
        _fromCaller = default;
        _fromTimeout = default;

        // A timeout that fired, or might still fire (queued), or runs on another clock, is never reused.
        // TryReset would disarm another clock's timer but keep it: a later CancelAfter would run on that clock.
        if (_timeout is not null && (!_onSystemClock || !_timeout.TryReset()))
        {
            _timeout.Dispose();
            _timeout = null;
        }

        if (!_linked.TryReset())
        {
            _linked.Dispose();
            _linked = new CancellationTokenSource();
        }

        Pool.Return(this);
    }

    private sealed class Policy : IPooledObjectPolicy<HandshakeDeadline>
    {
        public HandshakeDeadline Create() => new();

        // Return has already made the deadline fit for the next handshake.
        public bool Return(HandshakeDeadline obj) => true;
    }
}
