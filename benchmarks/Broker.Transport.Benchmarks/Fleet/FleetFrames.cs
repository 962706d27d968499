using System.Buffers;
using System.Buffers.Binary;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// The frames the fleet's pods exchange: a frontend sends <c>[seq: 8][stream: 4][payload: 52]</c>, the payload a
/// function of the stream and the sequence number, so the backend checks each frame without a copy of it; the
/// backend answers with the 8-byte sequence number once it has checked it.
/// </summary>
internal static class FleetFrames
{
    public const int Size = 64;
    private const int Header = 12;

    /// <summary>The stream id of the probe connections, which carry one frame each and are not counted as streams.</summary>
    public const int ProbeStream = -1;

    public static byte[] Create(long seq, int stream)
    {
        var frame = new byte[Size];
        BinaryPrimitives.WriteInt64BigEndian(frame, seq);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), stream);
        for (var i = Header; i < Size; i++)
        {
            frame[i] = Expected(seq, stream, i);
        }

        return frame;
    }

    /// <summary>Reads a frame's sequence number and stream and checks its payload; false for a frame that is not one of ours.</summary>
    public static bool TryCheck(ReadOnlySequence<byte> frame, out long seq, out int stream)
    {
        seq = 0;
        stream = 0;
        if (frame.Length != Size)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Size];
        frame.CopyTo(bytes);
        seq = BinaryPrimitives.ReadInt64BigEndian(bytes);
        stream = BinaryPrimitives.ReadInt32BigEndian(bytes[8..]);
        for (var i = Header; i < Size; i++)
        {
            if (bytes[i] != Expected(seq, stream, i))
            {
                return false;
            }
        }

        return true;
    }

    public static byte[] Ack(long seq)
    {
        var ack = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(ack, seq);
        return ack;
    }

    public static long ReadAck(ReadOnlySequence<byte> frame)
    {
        Span<byte> bytes = stackalloc byte[8];
        if (frame.Length != 8)
        {
            throw new InvalidDataException($"An ack is 8 bytes; this one has {frame.Length}.");
        }

        frame.CopyTo(bytes);
        return BinaryPrimitives.ReadInt64BigEndian(bytes);
    }

    private static byte Expected(long seq, int stream, int index) => (byte)((seq * 31) + (stream * 17) + (index * 7));
}
