using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;

namespace Broker.Transport.Connections;

/// <summary>
/// The frontend's link to one backend endpoint, kept alive: it holds one live connection, reconnects with gRPC's
/// backoff after a failure or a backend restart, and when its connection is asked to drain (a leaf about to expire,
/// a root leaving the trust bundle, <c>MaxConnectionAge</c>) it connects the successor first and hands it over
/// before the old one closes (make before break), so that a rotation or an expiry costs the application no gap.
/// </summary>
/// <remarks>
/// Enumerate <see cref="ConnectionsAsync"/> once. Each connection it yields is the application's: handle it until it
/// closes and dispose it. A yielded connection whose <see cref="TransportConnection.DrainRequested"/> fired has a
/// successor coming (or yielded already): stop writing to it, finish what is in flight and complete its output.
/// A connection the backend ends after less than <see cref="ConnectionKeeperOptions.InitialBackoff"/> counts as a
/// failed attempt, so a backend that accepts and drops at once is retried with backoff, not in a tight loop.
/// </remarks>
public sealed class ConnectionKeeper : IAsyncDisposable
{
    private readonly TransportConnector _connector;
    private readonly ConnectionKeeperOptions _options;
    private readonly KeeperTelemetry _telemetry;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<TransportConnection> _handOut = Channel.CreateBounded<TransportConnection>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
    private readonly Lock _gate = new();
    private Task _loop = Task.CompletedTask;
    private ConnectionKeeperState _state;
    private TransportConnection? _current;
    private Exception? _lastError;
    private long _reconnects;
    private long _handOvers;
    private int _started;
    private int _disposed;

    /// <summary>Creates a keeper of one link to <paramref name="endpoint"/>; it connects when <see cref="ConnectionsAsync"/> is first enumerated.</summary>
    /// <exception cref="ArgumentException">The options are out of range; the message names the field.</exception>
    public ConnectionKeeper(TransportConnector connector, EndPoint endpoint, ConnectionKeeperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connector);
        ArgumentNullException.ThrowIfNull(endpoint);
        options ??= new ConnectionKeeperOptions();
        options.Validate();
        _connector = connector;
        _options = options;
        EndPoint = endpoint;
        _telemetry = new KeeperTelemetry(endpoint, options.LoggerFactory, options.MeterFactory);
    }

    /// <summary>Raised, on the keeper's thread, each time <see cref="State"/> changes. Keep the handler short.</summary>
    public event EventHandler<ConnectionKeeperStateChangedEventArgs>? StateChanged;

    /// <summary>The backend endpoint this keeper connects to.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Where the keeper is now.</summary>
    public ConnectionKeeperState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The newest connection handed out; null before the first. It may be draining, or closed while a reconnect is under way.</summary>
    public TransportConnection? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Why the last attempt failed; null until one does.</summary>
    public Exception? LastError
    {
        get
        {
            lock (_gate)
            {
                return _lastError;
            }
        }
    }

    /// <summary>How many connections were opened after the previous one ended without draining (a failure, a backend restart).</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>How many connections were opened as the successor of a draining one.</summary>
    public long HandOvers => Interlocked.Read(ref _handOvers);

    /// <summary>
    /// The connections of the link, each as it is set up: the first, then each successor. Ends when the keeper is
    /// disposed or <paramref name="cancellationToken"/> fires, which also stops the keeper.
    /// </summary>
    /// <exception cref="InvalidOperationException">It was enumerated before: a keeper holds one link.</exception>
    public IAsyncEnumerable<TransportConnection> ConnectionsAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("ConnectionsAsync was enumerated already: a keeper holds one link; make another keeper for another.");
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, cancellationToken);
        _loop = RunAsync(linked);
        return ReadAsync(cancellationToken);
    }

    /// <summary>Stops the keeper. A connection handed out stays the application's; one not taken yet is closed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        while (_handOut.Reader.TryRead(out var untaken))
        {
            await untaken.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async IAsyncEnumerable<TransportConnection> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var connection in _handOut.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return connection;
        }
    }

    private async Task RunAsync(CancellationTokenSource linked)
    {
        var stopping = linked.Token;
        var failures = 0;
        var cause = KeeperTelemetry.Cause.First;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                SetState(ConnectionKeeperState.Connecting);
                TransportConnection connection;
                try
                {
                    connection = await _connector.ConnectAsync(EndPoint, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (TransportException ex)
                {
                    failures++;
                    if (!await BackOffAsync(failures, ex, stopping).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                failures = 0;
                Count(cause);
                _telemetry.Connected(connection, cause);
                lock (_gate)
                {
                    _current = connection;
                }

                SetState(ConnectionKeeperState.Ready);
                try
                {
                    await _handOut.Writer.WriteAsync(connection, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    break;
                }

                var opened = _options.TimeProvider.GetTimestamp();
                var drained = await DrainOrCloseAsync(connection, stopping).ConfigureAwait(false);
                if (stopping.IsCancellationRequested)
                {
                    break;
                }

                if (drained)
                {
                    // Make before break: the successor is connected now, while the draining one still carries traffic.
                    _telemetry.HandingOver(connection);
                    cause = KeeperTelemetry.Cause.HandOver;
                    continue;
                }

                cause = KeeperTelemetry.Cause.Reconnect;
                var lived = _options.TimeProvider.GetElapsedTime(opened);
                // A refusal found at the first read (a plaintext side against TLS, a client certificate refused after
                // TLS 1.3's handshake) is reported as itself: it is a configuration fault, not a lost connection.
                var lost = connection.InputError as HandshakeException
                    ?? (Exception)new ConnectionResetException($"The connection to {EndPoint} ended after {lived.TotalSeconds:0.###} s without being asked to drain ({ConnectionTelemetry.EndOf(connection.InputError)}).", connection.InputError);
                _telemetry.Lost(connection, lost);
                if (lived < _options.InitialBackoff && !await BackOffAsync(++failures, lost, stopping).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        finally
        {
            SetState(ConnectionKeeperState.Stopped);
            _handOut.Writer.TryComplete();
            linked.Dispose();
        }
    }

    /// <summary>Waits out the backoff after failure number <paramref name="failures"/>; false when the keeper stopped meanwhile.</summary>
    private async Task<bool> BackOffAsync(int failures, Exception error, CancellationToken stopping)
    {
        var backoff = _options.BackoffAfter(failures);
        var delay = backoff * (1 + (_options.Jitter * ((2 * Random.Shared.NextDouble()) - 1)));
        lock (_gate)
        {
            _lastError = error;
        }

        _telemetry.ConnectFailed(failures, delay, error);

        // The wait starts before the state says so: whoever reacts to BackingOff (a test moving a fake clock) finds the timer set.
        var wait = Task.Delay(delay, _options.TimeProvider, stopping);
        SetState(ConnectionKeeperState.BackingOff, delay, error);
        try
        {
            await wait.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits until <paramref name="connection"/> is asked to drain (true) or closes without it (false).</summary>
    private static async Task<bool> DrainOrCloseAsync(TransportConnection connection, CancellationToken stopping)
    {
        var ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var drain = connection.DrainRequested.UnsafeRegister(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(true), ended);
        using var closed = connection.ConnectionClosed.UnsafeRegister(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(false), ended);
        using var stop = stopping.UnsafeRegister(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(false), ended);
        return await ended.Task.ConfigureAwait(false);
    }

    private void Count(KeeperTelemetry.Cause cause)
    {
        if (cause == KeeperTelemetry.Cause.Reconnect)
        {
            Interlocked.Increment(ref _reconnects);
        }
        else if (cause == KeeperTelemetry.Cause.HandOver)
        {
            Interlocked.Increment(ref _handOvers);
        }
    }

    private void SetState(ConnectionKeeperState state, TimeSpan? retryIn = null, Exception? error = null)
    {
        lock (_gate)
        {
            _state = state;
        }

        StateChanged?.Invoke(this, new ConnectionKeeperStateChangedEventArgs(state, retryIn, error));
    }
}
