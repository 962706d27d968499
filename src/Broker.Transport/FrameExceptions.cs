
namespace Broker.Transport;

/// <summary>The peer broke the framing: the connection cannot be trusted further and is closed.</summary>
public class InvalidFrameException : TransportException
{
    /// <summary>Creates the exception with a message that says what the peer sent.</summary>
    public InvalidFrameException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public InvalidFrameException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public InvalidFrameException()
        : base("The peer sent an invalid frame.")
    {
    }
}

/// <summary>A length prefix announced a frame larger than the reader's maximum frame size.</summary>
public sealed class FrameTooLargeException : InvalidFrameException
{
    /// <summary>Creates the exception for a frame of <paramref name="length"/> bytes against a maximum of <paramref name="maxFrameSize"/>.</summary>
    public FrameTooLargeException(long length, int maxFrameSize)
        : base($"The peer announced a frame of {length} bytes, larger than the maximum frame size of {maxFrameSize} bytes; the connection is closed. Raise MaxFrameSize on this side if such frames are expected.")
    {
        Length = length;
        MaxFrameSize = maxFrameSize;
    }

    /// <summary>Creates the exception with a message.</summary>
    public FrameTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public FrameTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public FrameTooLargeException()
        : base("The peer announced a frame larger than the maximum frame size.")
    {
    }

    /// <summary>The length the peer announced.</summary>
    public long Length { get; }

    /// <summary>The largest frame this reader accepts.</summary>
    public int MaxFrameSize { get; }
}

/// <summary>The stream ended in the middle of a frame: the partial frame is dropped, never delivered.</summary>
public sealed class TruncatedFrameException : InvalidFrameException
{
    /// <summary>Creates the exception for a stream that ended after <paramref name="received"/> of <paramref name="expected"/> bytes of a frame (header included).</summary>
    public TruncatedFrameException(long received, long expected)
        : base(expected < 0
            ? $"The stream ended after {received} byte(s) of a 4-byte frame header; the partial frame was dropped."
            : $"The stream ended in the middle of a frame: {received} of {expected} bytes (header included) arrived; the partial frame was dropped.")
    {
        Received = received;
        Expected = expected;
    }

    /// <summary>Creates the exception with a message.</summary>
    public TruncatedFrameException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public TruncatedFrameException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public TruncatedFrameException()
        : base("The stream ended in the middle of a frame.")
    {
    }

    /// <summary>How many bytes of the frame arrived, header included.</summary>
    public long Received { get; }

    /// <summary>How many the frame needed, header included; -1 when the header itself was cut.</summary>
    public long Expected { get; }
}
