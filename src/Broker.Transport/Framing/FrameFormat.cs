using System.Buffers;
using System.Buffers.Binary;

namespace Broker.Transport.Framing;

/// <summary>
/// The frame format of the frontend-backend channel: a 4-byte big-endian unsigned payload length, then
/// the payload. Parsing never copies and never returns a partial frame.
/// </summary>
public static class FrameFormat
{
    /// <summary>The size of the length prefix, in bytes.</summary>
    public const int HeaderSize = 4;

    /// <summary>The default maximum payload size: 1 MiB. Ours; raise it per reader when larger messages are expected.</summary>
    public const int DefaultMaxFrameSize = 1024 * 1024;

    /// <summary>The largest maximum a reader may be given: 1 GiB.</summary>
    public const int MaxFrameSizeLimit = 1024 * 1024 * 1024;

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. On success <paramref name="payload"/>
    /// is a slice of <paramref name="buffer"/> (no copy) and <paramref name="buffer"/> starts after the frame.
    /// </summary>
    /// <returns><see langword="false"/> when the buffer does not yet hold a whole frame.</returns>
    /// <exception cref="FrameTooLargeException">The length prefix exceeds <paramref name="maxFrameSize"/>.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> payload)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            // Fast path: the header, and usually the whole frame, sit in the first segment.
            var prefix = BinaryPrimitives.ReadUInt32BigEndian(first);
            if (prefix > (uint)maxFrameSize)
            {
                throw new FrameTooLargeException(prefix, maxFrameSize);
            }

            if (first.Length - HeaderSize >= prefix)
            {
                payload = buffer.Slice(HeaderSize, (int)prefix);
                buffer = buffer.Slice(HeaderSize + (int)prefix);
                return true;
            }
        }

        if (buffer.Length < HeaderSize)
        {
            payload = default;
            return false;
        }

        var length = ReadLength(buffer);
        if (length > (uint)maxFrameSize)
        {
            throw new FrameTooLargeException(length, maxFrameSize);
        }

        if (buffer.Length - HeaderSize < length)
        {
            payload = default;
            return false;
        }

        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Writes one frame: the length prefix, then <paramref name="payload"/>. Does not flush.</summary>
    internal static void WriteFrame(IBufferWriter<byte> writer, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (payload.Length + HeaderSize <= 4096)
        {
            // Small frames, the common case: header and payload land in one span with one Advance.
            var span = writer.GetSpan(HeaderSize + payload.Length);
            BinaryPrimitives.WriteUInt32BigEndian(span, (uint)payload.Length);
            payload.CopyTo(span[HeaderSize..]);
            writer.Advance(HeaderSize + payload.Length);
            return;
        }

        WriteHeader(writer, payload.Length);
        writer.Write(payload);
    }

    /// <summary>Writes one frame whose payload is a sequence. Does not flush.</summary>
    internal static void WriteFrame(IBufferWriter<byte> writer, in ReadOnlySequence<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (payload.Length > MaxFrameSizeLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, $"A frame's payload may be at most {MaxFrameSizeLimit} bytes.");
        }

        WriteHeader(writer, (int)payload.Length);
        foreach (var segment in payload)
        {
            writer.Write(segment.Span);
        }
    }

    private static void WriteHeader(IBufferWriter<byte> writer, int length)
    {
        var header = writer.GetSpan(HeaderSize);
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)length);
        writer.Advance(HeaderSize);
    }

    private static uint ReadLength(in ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            return BinaryPrimitives.ReadUInt32BigEndian(first);
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header);
    }
}
