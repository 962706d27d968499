using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>
/// A connection's lifetime bound: it never outlives the earlier expiry of the two leaves it was set up with, nor
/// the trust of the root its peer's chain ends in, nor (when set) <c>MaxConnectionAge</c>. When the bound nears,
/// <see cref="DrainRequested"/> fires; <c>DrainGrace</c> later the transport closes the connection itself.
/// </summary>
public sealed partial class TransportConnection
{
    private static readonly TimeSpan MaxTimerWait = TimeSpan.FromDays(30);
    private readonly CancellationTokenSource _drain = new();
    private readonly Lock _lifetimeLock = new();
    private ConnectionLifetimes? _lifetimes;
    private ITimer? _lifetimeTimer;
    private ConnectionDrainReason _drainReason;
    private ConnectionDrainReason _boundReason;
    private DateTimeOffset? _closesAt;
    private DateTimeOffset _drainsAt;
    private bool _ended;

    /// <summary>
    /// Fires when the transport wants this connection to end: a leaf it was set up with is about to expire, the
    /// root its peer's chain ends in leaves the trust bundle, or it reached <c>MaxConnectionAge</c>. Finish what is
    /// in flight, stop writing and complete <see cref="Output"/> (a <see cref="ConnectionKeeper"/> has the successor
    /// connected already). At <see cref="ClosesAt"/> the transport closes it: what was flushed is sent, then
    /// close_notify; later flushes fail with <see cref="ConnectionDrainedException"/>. Callbacks run on the thread pool.
    /// </summary>
    public CancellationToken DrainRequested => _drain.Token;

    /// <summary>Why <see cref="DrainRequested"/> fired; <see cref="ConnectionDrainReason.None"/> before it does.</summary>
    public ConnectionDrainReason DrainReason
    {
        get
        {
            lock (_lifetimeLock)
            {
                return _drainReason;
            }
        }
    }

    /// <summary>
    /// When the transport will close this connection (UTC), as far as is known now: its lifetime bound, with the
    /// jitter applied. Null for a connection with no bound (plaintext with no <c>MaxConnectionAge</c>). It moves
    /// earlier, never later, when a sooner bound appears (a root removal).
    /// </summary>
    public DateTimeOffset? ClosesAt
    {
        get
        {
            lock (_lifetimeLock)
            {
                return _closesAt;
            }
        }
    }

    /// <summary>Whether the drain has started.</summary>
    internal bool IsDraining => _drain.IsCancellationRequested;

    /// <summary>
    /// Where in the jitter's range this connection's bounds fall, from 0 to 1, drawn once: a bound computed again
    /// later (a root's retirement seen at each trust change) lands on the same point, not on a new draw that an
    /// earlier-wins rule would drag to the range's start.
    /// </summary>
    internal double Spread { get; private set; }

    /// <summary>Follows the bounds of <paramref name="lifetimes"/>; called once, when the connection is handed out.</summary>
    internal void Attach(ConnectionLifetimes lifetimes, double spread)
    {
        _lifetimes = lifetimes;
        Spread = spread;
    }

    /// <summary>
    /// Sets a bound: drain from <paramref name="drainAt"/>, close at <paramref name="closeAt"/>. A bound later than the
    /// one set already changes nothing; a sooner one replaces it, and shortens a drain in progress.
    /// </summary>
    internal void Bound(ConnectionDrainReason reason, DateTimeOffset drainAt, DateTimeOffset closeAt)
    {
        lock (_lifetimeLock)
        {
            if (_ended || (_closesAt is { } current && current <= closeAt))
            {
                return;
            }

            _closesAt = closeAt;
            _boundReason = reason;
            _drainsAt = _drainReason == ConnectionDrainReason.None ? drainAt : _drainsAt;
        }

        Check();
    }

    /// <summary>The connection finished: no timer outlives it.</summary>
    internal void EndLifetime()
    {
        lock (_lifetimeLock)
        {
            _ended = true;
            _lifetimeTimer?.Dispose();
            _lifetimeTimer = null;
        }
    }

    /// <summary>Closes the connection from the transport's side (see <see cref="PipeConnection.CloseAsync"/>).</summary>
    internal Task CloseAsync(ConnectionDrainedException reason) => _transport.CloseAsync(reason);

    /// <summary>Starts the drain or closes, whichever is due, and sets the timer for what comes next.</summary>
    private void Check()
    {
        var lifetimes = _lifetimes;
        if (lifetimes is null)
        {
            return;
        }

        var now = lifetimes.Time.GetUtcNow();
        bool startDrain = false, close = false;
        ConnectionDrainReason reason;
        DateTimeOffset closesAt;
        lock (_lifetimeLock)
        {
            if (_ended || _closesAt is not { } at)
            {
                return;
            }

            closesAt = at;
            reason = _boundReason;
            if (_drainReason == ConnectionDrainReason.None && now >= _drainsAt)
            {
                _drainReason = reason;
                startDrain = true;
            }

            if (now >= at)
            {
                close = true;
                _ended = true;
                _lifetimeTimer?.Dispose();
                _lifetimeTimer = null;
            }
            else
            {
                // A timer cannot wait past about 49 days; a longer wait wakes early and looks again.
                var next = TimeSpan.FromTicks(Math.Min(((_drainReason == ConnectionDrainReason.None ? _drainsAt : at) - now).Ticks, MaxTimerWait.Ticks));
                _lifetimeTimer ??= lifetimes.Time.CreateTimer(static state => ((TransportConnection)state!).Check(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _lifetimeTimer.Change(next, Timeout.InfiniteTimeSpan);
            }
        }

        if (startDrain)
        {
            lifetimes.Draining(this, reason, closesAt);

            // The application's callbacks never run on the timer's thread (or inside the caller of Bound).
            ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _drain, preferLocal: false);
        }

        if (close)
        {
            _ = lifetimes.CloseAsync(this, reason);
        }
    }
}
