namespace Broker.Transport.Tests.Support;

/// <summary>
/// Hang guards. A bound here is never a performance claim: it only turns a hang into a failure that
/// names what was awaited, so a broken pump fails the suite instead of stalling it.
/// </summary>
internal static class Guard
{
    /// <summary>Generous enough for a loaded 2-core machine; anything that takes this long is stuck.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(30);

    public static Task Guarded(this Task task, CancellationToken cancellationToken)
        => task.WaitAsync(HangTimeout, cancellationToken);

    public static Task<T> Guarded<T>(this Task<T> task, CancellationToken cancellationToken)
        => task.WaitAsync(HangTimeout, cancellationToken);

    public static Task Guarded(this ValueTask task, CancellationToken cancellationToken)
        => task.AsTask().WaitAsync(HangTimeout, cancellationToken);

    public static Task<T> Guarded<T>(this ValueTask<T> task, CancellationToken cancellationToken)
        => task.AsTask().WaitAsync(HangTimeout, cancellationToken);

    /// <summary>Waits for <paramref name="task"/>, bounded by the hang guard; a hang fails with a message that names <paramref name="what"/>.</summary>
    public static async Task<T> Within<T>(this Task<T> task, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(HangTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {HangTimeout.TotalSeconds:0} s for {what}.", ex);
        }
    }

    /// <summary>Waits for <paramref name="task"/>, bounded by the hang guard; a hang fails with a message that names <paramref name="what"/>.</summary>
    public static async Task Within(this Task task, string what, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(HangTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {HangTimeout.TotalSeconds:0} s for {what}.", ex);
        }
    }

    /// <summary>A task that completes when <paramref name="token"/> fires.</summary>
    public static Task WhenCanceled(this CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetResult(), fired);
        return fired.Task;
    }
}
