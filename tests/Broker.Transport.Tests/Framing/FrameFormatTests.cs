using System.Buffers;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;
using CsCheck;

namespace Broker.Transport.Tests.Framing;

public class FrameFormatTests
{
    /// <summary>Payload lengths: mostly small, some around the 4096-byte single-span fast path, a few large.</summary>
    internal static readonly Gen<int> PayloadLength = Gen.Frequency(
        (6, Gen.Int[0, 64]),
        (2, Gen.Int[4088, 4100]),
        (1, Gen.Int[0, 9000]));

    internal static readonly Gen<byte[][]> Payloads = PayloadLength.SelectMany(n => Gen.Byte.Array[n]).Array[0, 12];

    /// <summary>Segment (or chunk) sizes, used in turn: single bytes, small pieces, empty segments, big pieces.</summary>
    internal static readonly Gen<int[]> Cuts = Gen.OneOf(
        Gen.Const(new[] { 1 }),
        Gen.Int[1, 7].Array[1, 8],
        Gen.Int[0, 64].Array[1, 8].Where(static sizes => sizes.Any(static size => size > 0)),
        Gen.Int[1, 10_000].Array[1, 4]);

    [Fact]
    public void A_frame_is_a_big_endian_length_then_the_payload()
    {
        var bytes = FrameFeed.Serialize([[0x61, 0x62, 0x63], [], new byte[0x0102]]);

        Assert.Equal(new byte[] { 0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 0, 0, 0, 0x01, 0x02 }, bytes[..15]);
        Assert.Equal(15 + 0x0102, bytes.Length);
    }

    [Fact]
    public void Writing_a_sequence_payload_gives_the_same_bytes_as_a_span()
    {
        foreach (var length in new[] { 0, 1, 4091, 4092, 4093, 70_000 })
        {
            var payload = TestData.Bytes(length, seed: length);
            var fromSpan = new ArrayBufferWriter<byte>();
            var fromSequence = new ArrayBufferWriter<byte>();

            FrameFormat.WriteFrame(fromSpan, payload);
            FrameFormat.WriteFrame(fromSequence, Segments.Split(payload, [1, 100, 3000]));

            Assert.Equal(fromSpan.WrittenSpan.ToArray(), fromSequence.WrittenSpan.ToArray());
            Assert.Equal(FrameFormat.HeaderSize + length, fromSpan.WrittenCount);
        }
    }

    [Fact]
    public void Frames_parse_back_exactly_from_sequences_cut_into_any_segments()
    {
        Gen.Select(Payloads, Cuts).Sample((payloads, cuts) =>
        {
            var buffer = Segments.Split(FrameFeed.Serialize(payloads), cuts);

            var parsed = new List<byte[]>();
            while (FrameFormat.TryReadFrame(ref buffer, maxFrameSize: 10_000, out var payload))
            {
                parsed.Add(payload.ToArray());
            }

            Assert.Equal(payloads, parsed);
            Assert.True(buffer.IsEmpty, $"{buffer.Length} byte(s) were left unparsed.");
        });
    }

    [Fact]
    public void A_cut_short_sequence_yields_only_whole_frames_and_keeps_the_rest_unread()
    {
        Gen.Select(Payloads.Where(static p => p.Length > 0), Cuts, Gen.Double[0, 1]).Sample((payloads, cuts, where) =>
        {
            var bytes = FrameFeed.Serialize(payloads);
            var cut = (int)(where * bytes.Length);
            var buffer = Segments.Split(bytes, cuts).Slice(0, cut);

            var parsed = new List<byte[]>();
            long consumed = 0;
            while (FrameFormat.TryReadFrame(ref buffer, maxFrameSize: 10_000, out var payload))
            {
                parsed.Add(payload.ToArray());
                consumed += FrameFormat.HeaderSize + payload.Length;
            }

            // Exactly the frames that end at or before the cut, in order; nothing of the frame the cut splits.
            var whole = new List<byte[]>();
            long end = 0;
            foreach (var payload in payloads)
            {
                end += FrameFormat.HeaderSize + payload.Length;
                if (end > cut)
                {
                    break;
                }

                whole.Add(payload);
            }

            Assert.Equal(whole, parsed);
            Assert.Equal(cut - consumed, buffer.Length);
        });
    }

    [Fact]
    public void An_incomplete_frame_returns_false_and_leaves_the_buffer_as_it_was()
    {
        var bytes = FrameFeed.Serialize([TestData.Bytes(10, seed: 1)]);
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var original = Segments.Split(bytes, [1]).Slice(0, cut);
            var buffer = original;

            Assert.False(FrameFormat.TryReadFrame(ref buffer, maxFrameSize: 10, out var payload));
            Assert.True(payload.IsEmpty);
            Assert.Equal(original.Start, buffer.Start);
            Assert.Equal(original.End, buffer.End);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void Frames_up_to_the_maximum_are_accepted(int length)
    {
        var payload = TestData.Bytes(length, seed: length);
        var buffer = Segments.Split(FrameFeed.Serialize([payload]), [3, 500]);

        Assert.True(FrameFormat.TryReadFrame(ref buffer, maxFrameSize: 1000, out var parsed));
        Assert.Equal(payload, parsed.ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_frame_one_byte_over_the_maximum_is_refused_from_its_header_alone()
    {
        // Only the header: the refusal must not wait for (or buffer) the oversize payload.
        var header = FrameFeed.Serialize([new byte[1001]])[..FrameFormat.HeaderSize];
        var buffer = Segments.Split(header, [1]);

        var error = Assert.Throws<FrameTooLargeException>(() => FrameFormat.TryReadFrame(ref buffer, maxFrameSize: 1000, out _));

        Assert.Equal(1001, error.Length);
        Assert.Equal(1000, error.MaxFrameSize);
        Assert.Equal(
            "The peer announced a frame of 1001 bytes, larger than the maximum frame size of 1000 bytes; the connection is closed. Raise MaxFrameSize on this side if such frames are expected.",
            error.Message);
    }

    [Fact]
    public void The_largest_length_a_header_can_carry_is_reported_unsigned()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF });

        var error = Assert.Throws<FrameTooLargeException>(() => FrameFormat.TryReadFrame(ref buffer, FrameFormat.MaxFrameSizeLimit, out _));

        Assert.Equal(uint.MaxValue, error.Length);
        Assert.Equal(FrameFormat.MaxFrameSizeLimit, error.MaxFrameSize);
    }
}
