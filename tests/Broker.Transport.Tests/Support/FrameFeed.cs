using System.Buffers;
using System.IO.Pipelines;
using Broker.Transport.Framing;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// Feeds a byte stream to a <see cref="FrameReader"/> through a real <see cref="Pipe"/>, one flush per chunk,
/// in lockstep: both pipe schedulers are inline and the pipe never pauses, so each flush runs the reader's
/// continuation before it returns, and the reader sees every chunk boundary as a separate read. Everything
/// runs on the calling thread; nothing depends on timing.
/// </summary>
internal static class FrameFeed
{
    /// <summary>What the reader delivered, and what it threw, if anything.</summary>
    public sealed record Outcome(IReadOnlyList<byte[]> Frames, Exception? Error, bool EndedCleanly);

    /// <summary>Serializes <paramref name="payloads"/> with <see cref="FrameFormat.WriteFrame(IBufferWriter{byte}, ReadOnlySpan{byte})"/>.</summary>
    public static byte[] Serialize(IEnumerable<byte[]> payloads)
    {
        var pipe = new ArrayBufferWriter<byte>();
        foreach (var payload in payloads)
        {
            FrameFormat.WriteFrame(pipe, payload);
        }

        return pipe.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="stream"/> in chunks of <paramref name="chunkSizes"/> (taken in turn, repeated),
    /// completes the pipe, and collects every frame the reader yields until it returns false or throws.
    /// </summary>
    public static Outcome Run(byte[] stream, IReadOnlyList<int> chunkSizes, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        var pipe = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0,
            resumeWriterThreshold: 0,
            useSynchronizationContext: false));
        var reader = new FrameReader(pipe.Reader, maxFrameSize);
        var frames = new List<byte[]>();
        var pending = reader.ReadFrameAsync().AsTask();

        // Takes every frame the reader has finished with so far; false once it ended or threw.
        bool Drain()
        {
            while (pending.IsCompleted)
            {
                if (!pending.IsCompletedSuccessfully || !pending.Result)
                {
                    return false;
                }

                frames.Add(reader.Current.ToArray());
                pending = reader.ReadFrameAsync().AsTask();
            }

            return true;
        }

        var offset = 0;
        for (var i = 0; offset < stream.Length && Drain(); i++)
        {
            var size = Math.Min(chunkSizes[i % chunkSizes.Count], stream.Length - offset);
            stream.AsSpan(offset, size).CopyTo(pipe.Writer.GetSpan(size));
            pipe.Writer.Advance(size);
            var flush = pipe.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                throw new InvalidOperationException("A pipe that never pauses made a flush wait.");
            }

            offset += size;
        }

        pipe.Writer.Complete();
        Drain();
        if (!pending.IsCompleted)
        {
            throw new InvalidOperationException("The reader still waits after the pipe completed.");
        }

        return pending.IsCompletedSuccessfully
            ? new Outcome(frames, null, EndedCleanly: !pending.Result)
            : new Outcome(frames, pending.Exception!.InnerException, EndedCleanly: false);
    }
}
