using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Broker.Transport.Framing;

/// <summary>
/// Reads length-prefixed frames (see <see cref="FrameFormat"/>) from a <see cref="PipeReader"/>.
/// <see cref="Current"/> is a slice of the pipe's own buffers, valid until the next
/// <see cref="ReadFrameAsync"/>; when several frames arrived together they are handed out one by one
/// from the same read. A broken stream (an oversize length, or an end in the middle of a frame) throws
/// an <see cref="InvalidFrameException"/>, completes the reader with it, and never yields the partial frame.
/// </summary>
/// <remarks>Not thread-safe: one reader per pipe, one read at a time.</remarks>
public sealed class FrameReader
{
    private readonly PipeReader _reader;
    private readonly Action<InvalidFrameException>? _onInvalidFrame;
    private ReadOnlySequence<byte> _buffer;
    private bool _holdingRead;
    private bool _completed;
    private InvalidFrameException? _fault;

    /// <summary>Creates a reader over <paramref name="reader"/>.</summary>
    /// <param name="reader">The pipe to read frames from.</param>
    /// <param name="maxFrameSize">The largest payload accepted, in bytes. Defaults to <see cref="FrameFormat.DefaultMaxFrameSize"/> (1 MiB).</param>
    public FrameReader(PipeReader reader, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
        : this(reader, maxFrameSize, onInvalidFrame: null)
    {
    }

    internal FrameReader(PipeReader reader, int maxFrameSize, Action<InvalidFrameException>? onInvalidFrame)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameSize, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxFrameSize, FrameFormat.MaxFrameSizeLimit);
        _reader = reader;
        MaxFrameSize = maxFrameSize;
        _onInvalidFrame = onInvalidFrame;
    }

    /// <summary>The largest payload this reader accepts.</summary>
    public int MaxFrameSize { get; }

    /// <summary>The payload of the frame the last successful <see cref="ReadFrameAsync"/> returned. No copy of the pipe's bytes.</summary>
    public ReadOnlySequence<byte> Current { get; private set; }

    /// <summary>
    /// Moves past the current frame and waits for the next whole one.
    /// </summary>
    /// <returns><see langword="true"/> with the frame in <see cref="Current"/>; <see langword="false"/> when the peer ended the stream cleanly between frames.</returns>
    /// <exception cref="FrameTooLargeException">The next length prefix exceeds <see cref="MaxFrameSize"/>.</exception>
    /// <exception cref="TruncatedFrameException">The stream ended in the middle of a frame.</exception>
    public ValueTask<bool> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        if (_fault is not null)
        {
            return ValueTask.FromException<bool>(_fault);
        }

        Current = default;
        if (_holdingRead)
        {
            // Frames that arrived together are handed out from the same read, synchronously, without
            // asking the pipe again: the common case when small frames stream in.
            try
            {
                if (TryTakeFrame())
                {
                    return new ValueTask<bool>(true);
                }
            }
            catch (InvalidFrameException ex)
            {
                return ValueTask.FromException<bool>(ex);
            }

            Release();
        }

        return _completed ? new ValueTask<bool>(false) : ReadFromPipeAsync(cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadFromPipeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            _buffer = result.Buffer;
            _holdingRead = true;
            if (TryTakeFrame())
            {
                return true;
            }

            if (result.IsCompleted)
            {
                var leftover = _buffer.Length;
                var expected = leftover < FrameFormat.HeaderSize ? -1 : ExpectedLength();
                Release();
                _completed = true;
                if (leftover == 0)
                {
                    return false;
                }

                throw Fail(new TruncatedFrameException(leftover, expected));
            }

            if (result.IsCanceled)
            {
                Release();
                throw new OperationCanceledException("The pending read was canceled (PipeReader.CancelPendingRead).");
            }

            Release();
        }
    }

    private bool TryTakeFrame()
    {
        bool found;
        ReadOnlySequence<byte> payload;
        try
        {
            found = FrameFormat.TryReadFrame(ref _buffer, MaxFrameSize, out payload);
        }
        catch (FrameTooLargeException ex)
        {
            Release();
            throw Fail(ex);
        }

        Current = payload;
        return found;
    }

    /// <summary>Gives the pipe back everything before the unread rest, and says the rest was looked at.</summary>
    private void Release()
    {
        if (_holdingRead)
        {
            _reader.AdvanceTo(_buffer.Start, _buffer.End);
            _holdingRead = false;
        }
    }

    private long ExpectedLength()
    {
        Span<byte> header = stackalloc byte[FrameFormat.HeaderSize];
        _buffer.Slice(0, FrameFormat.HeaderSize).CopyTo(header);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header) + (long)FrameFormat.HeaderSize;
    }

    private InvalidFrameException Fail(InvalidFrameException error)
    {
        _fault = error;
        _reader.Complete(error);
        _onInvalidFrame?.Invoke(error);
        return error;
    }
}
