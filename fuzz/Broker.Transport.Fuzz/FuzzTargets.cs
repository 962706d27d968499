using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Framing;

namespace Broker.Transport.Fuzz;

/// <summary>
/// The fuzz targets: each takes arbitrary bytes, lets the documented exception through silently and turns
/// anything else (another exception type, a wrong frame, a hang) into a crash. AFL++ drives them through
/// SharpFuzz (<c>Program</c>); the replay tests in Broker.Transport.Tests run every kept input through the
/// same methods (this file is linked there), so a finding stays fixed.
/// </summary>
internal static class FuzzTargets
{
    /// <summary>The targets by name, as <c>fuzz.sh</c> and the corpus folders name them.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["frames"] = Frames,
        ["config"] = Config,
        ["pem"] = Pem,
    };

    // The first input byte picks the reader's maximum and how the stream is cut into pipe writes, so the
    // fuzzer reaches the limits (0, 1, a header's worth, the default) and headers split across segments.
    internal static readonly int[] MaxFrameSizes = [0, 1, 3, 4, 16, 255, 4096, FrameFormat.DefaultMaxFrameSize];

    /// <summary>
    /// The frame reader: the stream after the first byte is read both with <see cref="FrameFormat.TryReadFrame"/>
    /// over a multi-segment sequence and with a <see cref="FrameReader"/> over a real <see cref="Pipe"/>; both
    /// must agree, frame by frame and in how they end, with a plain reading of the same bytes.
    /// </summary>
    public static void Frames(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var max = MaxFrameSizes[input[0] & 7];
        var chunk = 1 + (input[0] >> 3); // 1..32 bytes per segment
        var stream = input.AsMemory(1);
        var expected = Oracle(stream.Span, max);

        // 1. The parser over a sequence cut into small segments.
        var sequence = Segments(stream, chunk);
        var frames = new List<byte[]>();
        Exception? error = null;
        try
        {
            while (FrameFormat.TryReadFrame(ref sequence, max, out var payload))
            {
                frames.Add(payload.ToArray());
            }
        }
        catch (FrameTooLargeException ex)
        {
            error = ex;
        }

        Check(expected, frames, error, truncatedAtEnd: false, "TryReadFrame");
        if (error is null && sequence.Length != expected.Left)
        {
            throw new InvalidOperationException($"TryReadFrame left {sequence.Length} bytes; expected {expected.Left}.");
        }

        // 2. The frame reader over a pipe fed in the same segments, then completed.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 16, useSynchronizationContext: false));
        for (var offset = 0; offset < stream.Length; offset += chunk)
        {
            var part = stream.Slice(offset, Math.Min(chunk, stream.Length - offset));
            Sync(pipe.Writer.WriteAsync(part));
        }

        pipe.Writer.Complete();
        var reader = new FrameReader(pipe.Reader, max);
        frames.Clear();
        error = null;
        try
        {
            while (Sync(reader.ReadFrameAsync()))
            {
                frames.Add(reader.Current.ToArray());
            }
        }
        catch (InvalidFrameException ex)
        {
            error = ex;
        }

        Check(expected, frames, error, truncatedAtEnd: true, "FrameReader");
    }

    /// <summary>The config parser: anything but a valid file must fail with <see cref="BrokerConfigException"/>.</summary>
    public static void Config(byte[] input)
    {
        var json = Encoding.UTF8.GetString(input);
        try
        {
            var file = BrokerConfigFile.Parse(json);
            if (file.Config is null || file.Warnings is null)
            {
                throw new InvalidOperationException("Parse returned a file without a config or warnings.");
            }
        }
        catch (BrokerConfigException ex) when (ex.Errors.Count > 0 && ex.Errors.All(static e => !string.IsNullOrEmpty(e.Message)))
        {
        }
    }

    /// <summary>
    /// The PEM loader: the input is <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> separated by NUL bytes;
    /// anything but a matching set must fail with <see cref="CertificateLoadException"/>.
    /// </summary>
    public static void Pem(byte[] input)
    {
        var parts = Encoding.UTF8.GetString(input).Split('\0', 3);
        string Part(int i) => i < parts.Length ? parts[i] : string.Empty;
        try
        {
            var credentials = PemCredentials.FromPem(Part(0), Part(1), Part(2));
            if (!credentials.Certificate.HasPrivateKey || credentials.TrustBundle.Count == 0)
            {
                throw new InvalidOperationException("FromPem returned credentials without a key or without roots.");
            }

            credentials.Certificate.Dispose();
        }
        catch (CertificateLoadException)
        {
        }
    }

    /// <summary>What a plain, obviously right reading of the stream gives: the frames, then how it ends.</summary>
    private static Reading Oracle(ReadOnlySpan<byte> stream, int max)
    {
        var frames = new List<byte[]>();
        var at = 0;
        while (stream.Length - at >= FrameFormat.HeaderSize)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(stream[at..]);
            if (length > (uint)max)
            {
                return new(frames, length, stream.Length - at, -1);
            }

            if (stream.Length - at - FrameFormat.HeaderSize < length)
            {
                return new(frames, null, stream.Length - at, length + FrameFormat.HeaderSize);
            }

            frames.Add(stream.Slice(at + FrameFormat.HeaderSize, (int)length).ToArray());
            at += FrameFormat.HeaderSize + (int)length;
        }

        return new(frames, null, stream.Length - at, stream.Length == at ? 0 : -1);
    }

    private static void Check(Reading expected, List<byte[]> frames, Exception? error, bool truncatedAtEnd, string who)
    {
        if (frames.Count != expected.Frames.Count)
        {
            throw new InvalidOperationException($"{who} returned {frames.Count} frames; expected {expected.Frames.Count}.");
        }

        for (var i = 0; i < frames.Count; i++)
        {
            if (!frames[i].AsSpan().SequenceEqual(expected.Frames[i]))
            {
                throw new InvalidOperationException($"{who}: frame {i} differs ({frames[i].Length} bytes; expected {expected.Frames[i].Length}).");
            }
        }

        switch (error)
        {
            case null when expected.TooLarge is null && (!truncatedAtEnd || expected.Left == 0):
                return;
            case FrameTooLargeException tooLarge when tooLarge.Length == expected.TooLarge:
                return;
            case TruncatedFrameException truncated when truncatedAtEnd && expected.TooLarge is null
                && truncated.Received == expected.Left && truncated.Expected == expected.ExpectedLength:
                return;
            default:
                throw new InvalidOperationException(
                    $"{who} ended with {error?.GetType().Name ?? "no error"} ({error?.Message}); expected too large: {expected.TooLarge}, rest {expected.Left}, expected length {expected.ExpectedLength}.",
                    error);
        }
    }

    /// <summary><paramref name="bytes"/> as a sequence of <paramref name="chunk"/>-byte segments, as bytes that arrived in pieces are handed out.</summary>
    internal static ReadOnlySequence<byte> Segments(ReadOnlyMemory<byte> bytes, int chunk)
    {
        if (bytes.Length <= chunk)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes[..chunk], 0);
        var last = first;
        for (var offset = chunk; offset < bytes.Length; offset += chunk)
        {
            last = last.Append(bytes.Slice(offset, Math.Min(chunk, bytes.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    // Everything was written and the writer completed before reading, so every await completes at once; one
    // that does not is a hang, which is a finding.
    private static T Sync<T>(ValueTask<T> task)
        => task.IsCompleted ? task.GetAwaiter().GetResult() : throw new InvalidOperationException("A read over a completed pipe did not complete synchronously (it would hang).");

    /// <summary>The frames a stream holds, then how it ends: a length above the maximum, or <c>Left</c> bytes of a frame that never completed.</summary>
    private readonly record struct Reading(List<byte[]> Frames, long? TooLarge, long Left, long ExpectedLength);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
