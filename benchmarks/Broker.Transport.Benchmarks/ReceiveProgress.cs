using System.Threading.Tasks.Sources;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Lets a benchmark operation wait until a background receiver has counted all the operation's bytes,
/// without allocating: the measured Allocated column must show the transport's allocations, not the
/// harness's. One operation at a time: <see cref="Expect"/> before the first byte is sent, then the
/// receiver's <see cref="Add"/> calls complete the returned task once the bytes are in.
/// </summary>
internal sealed class ReceiveProgress : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private long _remaining;
    private Exception? _error;

    public ReceiveProgress()
    {
        // The receiver must never run the next operation (which sends) on its own thread, or it would stop receiving.
        _core.RunContinuationsAsynchronously = true;
    }

    /// <summary>Arms the signal for an operation that sends <paramref name="bytes"/> bytes. Call before sending.</summary>
    public ValueTask Expect(long bytes)
    {
        if (Volatile.Read(ref _error) is { } error)
        {
            return ValueTask.FromException(error);
        }

        _core.Reset();
        Volatile.Write(ref _remaining, bytes);
        return new ValueTask(this, _core.Version);
    }

    /// <summary>Counts received bytes; called by the receiver only, after the operation sent them.</summary>
    public void Add(long bytes)
    {
        var remaining = Volatile.Read(ref _remaining) - bytes;
        Volatile.Write(ref _remaining, remaining);
        if (remaining == 0)
        {
            _core.SetResult(true);
        }
        else if (remaining < 0)
        {
            _core.SetException(new InvalidOperationException($"The receiver got {-remaining} byte(s) more than the operation sent."));
        }
    }

    /// <summary>Fails the waiting operation: the receiver stopped.</summary>
    public void Fail(Exception error)
    {
        Volatile.Write(ref _error, error);
        if (_core.GetStatus(_core.Version) == ValueTaskSourceStatus.Pending)
        {
            _core.SetException(error);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
