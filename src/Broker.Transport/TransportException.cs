namespace Broker.Transport;

/// <summary>The base of every error the transport raises about a connection.</summary>
/// <remarks>It derives from <see cref="IOException"/> so that code written against streams handles it too.</remarks>
public class TransportException : IOException
{
    /// <summary>Creates the exception with a message that says what went wrong.</summary>
    public TransportException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public TransportException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public TransportException()
        : base("The transport connection failed.")
    {
    }
}

/// <summary>The peer reset the connection (TCP RST), or it vanished, so bytes in flight may be lost.</summary>
public sealed class ConnectionResetException : TransportException
{
    /// <summary>Creates the exception with a message and the socket error that reported the reset.</summary>
    public ConnectionResetException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConnectionResetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public ConnectionResetException()
        : base("The peer reset the connection.")
    {
    }
}

/// <summary>
/// The encrypted stream ended without TLS close_notify: the peer's TCP stream ended (a FIN) where a closing peer
/// first says it is done. A peer that crashed or lost its connection, or a FIN injected on the way, cut the
/// stream: what the peer sent after the last byte received may be lost. A partial frame is never delivered.
/// Only encrypted connections can tell; a plaintext connection takes every FIN for a close.
/// </summary>
public sealed class ConnectionTruncatedException : TransportException
{
    /// <summary>Creates the exception with a message and the error, if any, that reported the end.</summary>
    public ConnectionTruncatedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConnectionTruncatedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public ConnectionTruncatedException()
        : base("The peer's stream ended without TLS close_notify: it was cut.")
    {
    }
}

/// <summary>
/// The transport closed the connection at its lifetime bound (a leaf's expiry, the removal of the root the peer's
/// chain ends in, or <c>MaxConnectionAge</c>) once <c>DrainGrace</c> was over: everything flushed before was sent,
/// then the connection was closed gracefully (TLS close_notify). Flushes after that fail with this exception.
/// </summary>
public sealed class ConnectionDrainedException : TransportException
{
    /// <summary>Creates the exception with the reason for the close.</summary>
    public ConnectionDrainedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public ConnectionDrainedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public ConnectionDrainedException()
        : base("The transport closed the connection at its lifetime bound, after the drain grace period.")
    {
    }
}

/// <summary>This side aborted the connection; <see cref="Exception.Message"/> carries the reason given to <c>Abort</c>.</summary>
public sealed class ConnectionAbortedException : TransportException
{
    /// <summary>Creates the exception with the reason for the abort.</summary>
    public ConnectionAbortedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason for the abort and the error that caused it.</summary>
    public ConnectionAbortedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public ConnectionAbortedException()
        : base("The connection was aborted.")
    {
    }
}

/// <summary>A connect attempt did not finish within the connector's <c>ConnectTimeout</c>, or the peer refused it.</summary>
public sealed class ConnectFailedException : TransportException
{
    /// <summary>Creates the exception with a message and the socket error, if any.</summary>
    public ConnectFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConnectFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public ConnectFailedException()
        : base("The connection could not be established.")
    {
    }
}
