namespace Broker.Transport.Tests.Support;

/// <summary>Watching a gauge (pending handshakes, ...) while something runs.</summary>
internal static class Sampling
{
    /// <summary>Reads <paramref name="read"/> about every millisecond until <paramref name="stop"/>; returns the highest value seen.</summary>
    public static async Task<int> SampleHighestAsync(Func<int> read, CancellationToken stop)
    {
        var highest = 0;
        while (!stop.IsCancellationRequested)
        {
            highest = Math.Max(highest, read());
            try
            {
                await Task.Delay(1, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return Math.Max(highest, read());
    }
}
