using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;
using CsCheck;

namespace Broker.Transport.Tests.Framing;

public class FrameReaderTests
{
    /// <summary>Frames whose lengths sit on the edges that matter: empty, tiny, the 4096-byte fast path, several reads.</summary>
    private static readonly byte[][] EdgePayloads =
    [
        [],
        [0x2A],
        TestData.Bytes(4091, seed: 1),
        [],
        TestData.Bytes(4092, seed: 2),
        TestData.Bytes(4093, seed: 3),
        TestData.Bytes(17, seed: 4),
        TestData.Bytes(20_000, seed: 5),
    ];

    [Fact]
    public void Frames_arrive_exactly_whatever_the_chunking_of_the_stream()
    {
        Gen.Select(FrameFormatTests.Payloads, FrameFormatTests.Cuts.Where(static c => c.All(static size => size > 0))).Sample((payloads, chunks) =>
        {
            var outcome = FrameFeed.Run(FrameFeed.Serialize(payloads), chunks);

            Assert.Null(outcome.Error);
            Assert.Equal(payloads, outcome.Frames);
            Assert.True(outcome.EndedCleanly);
        });
    }

    [Fact]
    public void Frames_fed_one_byte_per_read_arrive_whole()
    {
        var outcome = FrameFeed.Run(FrameFeed.Serialize(EdgePayloads), [1]);

        Assert.Null(outcome.Error);
        Assert.Equal(EdgePayloads, outcome.Frames);
        Assert.True(outcome.EndedCleanly);
    }

    [Fact]
    public void Frames_split_into_two_reads_at_every_byte_boundary_arrive_whole()
    {
        byte[][] payloads = [[], [1], TestData.Bytes(9, seed: 6), [], TestData.Bytes(3, seed: 7)];
        var stream = FrameFeed.Serialize(payloads);

        for (var split = 1; split < stream.Length; split++)
        {
            var outcome = FrameFeed.Run(stream, [split, stream.Length]);

            Assert.Null(outcome.Error);
            Assert.Equal(payloads, outcome.Frames);
            Assert.True(outcome.EndedCleanly, $"split at {split}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void Frames_up_to_the_maximum_are_delivered(int length)
    {
        byte[][] payloads = [TestData.Bytes(length, seed: length), [7]];

        var outcome = FrameFeed.Run(FrameFeed.Serialize(payloads), [5, 1, 300], maxFrameSize: 1000);

        Assert.Null(outcome.Error);
        Assert.Equal(payloads, outcome.Frames);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frame_over_the_maximum_fails_the_reader_for_good_and_completes_the_pipe()
    {
        var ct = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var reader = new FrameReader(pipe.Reader, maxFrameSize: 1000);
        pipe.Writer.WriteFrame([1, 2, 3]);
        pipe.Writer.WriteFrame(new byte[1001]);
        await pipe.Writer.FlushAsync(ct);

        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal(new byte[] { 1, 2, 3 }, reader.Current.ToArray());
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(async () => await reader.ReadFrameAsync(ct));

        Assert.Equal(1001, error.Length);
        Assert.Equal(1000, error.MaxFrameSize);
        Assert.Contains("frame of 1001 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("maximum frame size of 1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.True(reader.Current.IsEmpty);

        // The reader stays failed, and the pipe's writer learns that nobody reads any more.
        Assert.Same(error, await Assert.ThrowsAsync<FrameTooLargeException>(async () => await reader.ReadFrameAsync(ct)));
        Assert.Same(error, await Assert.ThrowsAsync<FrameTooLargeException>(async () => await pipe.Writer.FlushAsync(ct)));
    }

    [Fact]
    public void The_default_maximum_is_one_mebibyte_inclusive()
    {
        byte[][] payloads = [TestData.Bytes(FrameFormat.DefaultMaxFrameSize, seed: 8)];
        var outcome = FrameFeed.Run(FrameFeed.Serialize(payloads), [64 * 1024]);

        Assert.Null(outcome.Error);
        Assert.Equal(payloads, outcome.Frames);

        var tooLarge = FrameFeed.Run(FrameFeed.Serialize([new byte[FrameFormat.DefaultMaxFrameSize + 1]]), [64 * 1024]);

        var error = Assert.IsType<FrameTooLargeException>(tooLarge.Error);
        Assert.Equal(FrameFormat.DefaultMaxFrameSize + 1, error.Length);
        Assert.Equal(FrameFormat.DefaultMaxFrameSize, error.MaxFrameSize);
        Assert.Empty(tooLarge.Frames);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_stream_that_ends_inside_a_header_is_truncated(int headerBytes)
    {
        var whole = TestData.Bytes(5, seed: 9);
        var stream = FrameFeed.Serialize([whole, TestData.Bytes(300, seed: 10)]);
        stream = stream[..(FrameFormat.HeaderSize + whole.Length + headerBytes)];

        var outcome = FrameFeed.Run(stream, [1]);

        var error = Assert.IsType<TruncatedFrameException>(outcome.Error);
        Assert.Equal(headerBytes, error.Received);
        Assert.Equal(-1, error.Expected);
        Assert.Equal($"The stream ended after {headerBytes} byte(s) of a 4-byte frame header; the partial frame was dropped.", error.Message);
        Assert.Equal([whole], outcome.Frames);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(299)]
    public void A_stream_that_ends_inside_a_payload_is_truncated_and_the_partial_frame_is_never_delivered(int payloadBytes)
    {
        var whole = TestData.Bytes(5, seed: 11);
        var stream = FrameFeed.Serialize([whole, TestData.Bytes(300, seed: 12)]);
        stream = stream[..(FrameFormat.HeaderSize + whole.Length + FrameFormat.HeaderSize + payloadBytes)];

        var outcome = FrameFeed.Run(stream, [7]);

        var error = Assert.IsType<TruncatedFrameException>(outcome.Error);
        Assert.Equal(FrameFormat.HeaderSize + payloadBytes, error.Received);
        Assert.Equal(FrameFormat.HeaderSize + 300, error.Expected);
        Assert.Equal(
            $"The stream ended in the middle of a frame: {FrameFormat.HeaderSize + payloadBytes} of 304 bytes (header included) arrived; the partial frame was dropped.",
            error.Message);
        Assert.Equal([whole], outcome.Frames);
    }

    [Fact]
    public void A_stream_cut_anywhere_inside_its_last_frame_is_truncated_after_every_whole_frame()
    {
        var gen = Gen.Select(FrameFormatTests.Payloads.Where(static p => p.Length > 0), Gen.Int[1, 64].Array[1, 4], Gen.Double[0, 1]);
        gen.Sample((payloads, chunks, where) =>
        {
            var stream = FrameFeed.Serialize(payloads);
            var lastFrame = FrameFormat.HeaderSize + payloads[^1].Length;
            var kept = 1 + (int)(where * (lastFrame - 1)); // 1 .. lastFrame - 1 bytes of the last frame
            kept = Math.Min(kept, lastFrame - 1);

            var outcome = FrameFeed.Run(stream[..(stream.Length - lastFrame + kept)], chunks);

            var error = Assert.IsType<TruncatedFrameException>(outcome.Error);
            Assert.Equal(kept, error.Received);
            Assert.Equal(kept < FrameFormat.HeaderSize ? -1 : lastFrame, error.Expected);
            Assert.Equal(payloads[..^1], outcome.Frames);
        });
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_stream_that_ends_between_frames_ends_cleanly_and_stays_ended()
    {
        var ct = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var reader = new FrameReader(pipe.Reader);
        pipe.Writer.WriteFrame([1]);
        pipe.Writer.WriteFrame([]);
        await pipe.Writer.CompleteAsync();

        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal(new byte[] { 1 }, reader.Current.ToArray());
        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.True(reader.Current.IsEmpty);
        Assert.False(await reader.ReadFrameAsync(ct));
        Assert.False(await reader.ReadFrameAsync(ct));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_empty_stream_ends_cleanly()
    {
        var pipe = new Pipe();
        var reader = new FrameReader(pipe.Reader);
        await pipe.Writer.CompleteAsync();

        Assert.False(await reader.ReadFrameAsync(TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_truncated_stream_fails_the_reader_for_good()
    {
        var ct = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var reader = new FrameReader(pipe.Reader);
        var header = new byte[FrameFormat.HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, 10);
        await pipe.Writer.WriteAsync(header, ct);
        await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 }, ct);
        await pipe.Writer.CompleteAsync();

        var error = await Assert.ThrowsAsync<TruncatedFrameException>(async () => await reader.ReadFrameAsync(ct));

        Assert.Equal(7, error.Received);
        Assert.Equal(14, error.Expected);
        Assert.True(reader.Current.IsEmpty);
        Assert.Same(error, await Assert.ThrowsAsync<TruncatedFrameException>(async () => await reader.ReadFrameAsync(ct)));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_canceled_read_throws_and_the_next_read_still_gets_the_frame()
    {
        var ct = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var reader = new FrameReader(pipe.Reader);

        var waiting = reader.ReadFrameAsync(ct).AsTask();
        pipe.Reader.CancelPendingRead();
        await Assert.ThrowsAsync<OperationCanceledException>(() => waiting.Guarded(ct));

        await pipe.Writer.WriteAsync(FrameFeed.Serialize([[4, 5]]), ct);
        Assert.True(await reader.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(new byte[] { 4, 5 }, reader.Current.ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(FrameFormat.MaxFrameSizeLimit + 1)]
    public void A_maximum_frame_size_out_of_range_is_refused(int maxFrameSize)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new FrameReader(new Pipe().Reader, maxFrameSize));

        Assert.Equal("maxFrameSize", error.ParamName);
    }
}
