namespace Broker.Transport.Connections;

/// <summary>Where a <see cref="ConnectionKeeper"/> is.</summary>
public enum ConnectionKeeperState
{
    /// <summary>Not started: <see cref="ConnectionKeeper.ConnectionsAsync"/> was not called yet.</summary>
    Idle,

    /// <summary>An attempt to connect is under way (the first, a reconnect, or a draining connection's successor).</summary>
    Connecting,

    /// <summary>A live connection is held, and it is not draining.</summary>
    Ready,

    /// <summary>The last attempt failed; the next comes after the backoff (<see cref="ConnectionKeeperStateChangedEventArgs.RetryIn"/>).</summary>
    BackingOff,

    /// <summary>Disposed, or its enumeration was canceled: no more connections.</summary>
    Stopped,
}

/// <summary>A change of <see cref="ConnectionKeeper.State"/>.</summary>
public sealed class ConnectionKeeperStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public ConnectionKeeperStateChangedEventArgs(ConnectionKeeperState state, TimeSpan? retryIn, Exception? error)
    {
        State = state;
        RetryIn = retryIn;
        Error = error;
    }

    /// <summary>The new state.</summary>
    public ConnectionKeeperState State { get; }

    /// <summary>For <see cref="ConnectionKeeperState.BackingOff"/>, the wait before the next attempt, jitter included.</summary>
    public TimeSpan? RetryIn { get; }

    /// <summary>For <see cref="ConnectionKeeperState.BackingOff"/>, why the attempt failed.</summary>
    public Exception? Error { get; }
}
