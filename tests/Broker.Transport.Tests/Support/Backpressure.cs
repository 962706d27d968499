using System.IO.Pipelines;

namespace Broker.Transport.Tests.Support;

/// <summary>Drives a writer into backpressure: writes and flushes until a flush stops completing.</summary>
internal static class Backpressure
{
    /// <summary>
    /// How long a pending flush must stay pending before the writer is taken to be stalled. Not a
    /// performance bound: a flush that would have completed later only makes the writer stop early, which
    /// every caller tolerates (the stall is still real: nobody reads).
    /// </summary>
    public static readonly TimeSpan StallWindow = TimeSpan.FromSeconds(2);

    /// <summary>The bytes written so far (the counting stream, see <see cref="TestData.Counting"/>) and the flush left waiting.</summary>
    public sealed record Stall(long Written, Task<FlushResult>? PendingFlush);

    /// <summary>
    /// Writes the counting stream in 16 KiB flushes until a flush stays pending for <see cref="StallWindow"/>,
    /// or until more than <paramref name="giveUpAfter"/> bytes went out without one (then PendingFlush is null).
    /// </summary>
    public static async Task<Stall> WriteUntilStalledAsync(PipeWriter output, CancellationToken cancellationToken, long giveUpAfter = 64L * 1024 * 1024)
    {
        const int Chunk = 16 * 1024;
        long written = 0;
        while (written <= giveUpAfter)
        {
            TestData.FillCounting(output.GetSpan(Chunk)[..Chunk], written);
            output.Advance(Chunk);
            written += Chunk;
            var flush = output.FlushAsync(cancellationToken).AsTask();
            if (!flush.IsCompleted
                && await Task.WhenAny(flush, Task.Delay(StallWindow, cancellationToken)) != flush)
            {
                return new Stall(written, flush);
            }

            var result = await flush;
            if (result.IsCompleted)
            {
                throw new InvalidOperationException($"The peer stopped reading after {written} bytes.");
            }
        }

        return new Stall(written, null);
    }
}
