using System.Buffers;

namespace Broker.Transport.Sockets;

/// <summary>How one connection's socket and its two pipes behave. Shared by the listener and the connector.</summary>
public sealed class SocketTransportOptions
{
    /// <summary>The default for <see cref="MaxInputBufferSize"/>: 2 MiB.</summary>
    public const int DefaultMaxInputBufferSize = 2 * 1024 * 1024;

    /// <summary>The default for <see cref="MaxOutputBufferSize"/>: 1 MiB.</summary>
    public const int DefaultMaxOutputBufferSize = 1024 * 1024;

    /// <summary>
    /// How many received bytes may wait unread in a connection's input before the transport stops reading
    /// the socket (and TCP flow control slows the peer). Defaults to 2 MiB. A reader waiting for a frame
    /// larger than this still gets it: the pipe lets the receive loop past the limit while the reader has
    /// examined everything buffered, so one waiting frame can hold up to the frame reader's maximum frame
    /// size. Keep this above the usual frame size so that such frames stay the exception.
    /// </summary>
    public int MaxInputBufferSize { get; set; } = DefaultMaxInputBufferSize;

    /// <summary>
    /// How many written bytes may wait unsent before the application's <c>FlushAsync</c> waits for the
    /// socket. Defaults to 1 MiB. This is the bound on the memory a peer that stops reading can make a
    /// sender hold.
    /// </summary>
    public int MaxOutputBufferSize { get; set; } = DefaultMaxOutputBufferSize;

    /// <summary>
    /// The smallest buffer the pipes rent, and the least free space a socket receive reads into. Defaults to
    /// 16 KiB, the size of a full TLS record, so a record usually arrives in one receive. With the default
    /// <see cref="MemoryPool"/> the buffers are 64 KiB blocks and a receive fills whatever the current block
    /// has left, so a bulk transfer reads up to 64 KiB per system call.
    /// </summary>
    public int BufferSize { get; set; } = 16 * 1024;

    /// <summary>Whether Nagle's algorithm is off (TCP_NODELAY). Defaults to <see langword="true"/>: the pipes batch writes themselves.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// How long disposing a connection waits for queued bytes to reach the socket before it aborts instead.
    /// Defaults to 5 seconds.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a connection may sit without traffic before TCP keep-alive probes check that the peer is still
    /// there (TCP_KEEPIDLE). Defaults to 60 seconds (ours): a peer that vanished without a FIN or a reset (its
    /// node lost, a partition) is then noticed after about <c>KeepAliveTime + KeepAliveInterval x KeepAliveRetryCount</c>
    /// (2 minutes by default), when the pending read fails with a <c>ConnectionResetException</c>. The probes are
    /// answered by the peer's kernel, so they cost the application nothing and never close a connection that is
    /// merely quiet. <see cref="Timeout.InfiniteTimeSpan"/> turns keep-alive off.
    /// </summary>
    public TimeSpan KeepAliveTime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The time between two unanswered keep-alive probes (TCP_KEEPINTVL). Defaults to 10 seconds.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many unanswered keep-alive probes end the connection (TCP_KEEPCNT). Defaults to 6.</summary>
    public int KeepAliveRetryCount { get; set; } = 6;

    /// <summary>
    /// How long a connection may go without receiving a single byte before it is aborted: for applications that
    /// send heartbeats and want a silent peer gone sooner than keep-alive notices, or a peer that is alive but
    /// stuck. The local reads and flushes then fail with a <c>ConnectionAbortedException</c> that says so, and the
    /// peer sees a reset. Defaults to <see cref="Timeout.InfiniteTimeSpan"/>: off, because the broker's internal
    /// connections may be quiet for as long as no message flows, and keep-alive already finds vanished peers.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// The clock for <see cref="IdleTimeout"/> and <see cref="CloseTimeout"/>: the listener's or connector's own
    /// <c>TimeProvider</c>, which they set here (<see cref="WithClock"/>), so that a side has one clock.
    /// </summary>
    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Whether the TLS layer's encrypted writes go through <see cref="WriteBehindStream"/> (the default) or straight to
    /// the socket. Internal: it exists so a benchmark can compare the two in one run.
    /// </summary>
    internal bool WriteBehind { get; set; } = true;

    /// <summary>A copy of these options that runs its timeouts on <paramref name="time"/>.</summary>
    internal SocketTransportOptions WithClock(TimeProvider time)
    {
        var copy = (SocketTransportOptions)MemberwiseClone();
        copy.TimeProvider = time;
        return copy;
    }

    /// <summary>
    /// Where the pipes rent their buffers. Defaults to a pool shared by all the transport's connections:
    /// 64 KiB blocks on the pinned object heap, reused, with at most 64 MiB of idle blocks kept, so a busy
    /// connection allocates nothing per frame. (<see cref="MemoryPool{T}.Shared"/> keeps too few buffers of a
    /// size for a connection's 3 MiB of pipes, and allocates again.) The pool must hand out array-backed
    /// memory, so several buffers can be sent in one system call.
    /// </summary>
    public MemoryPool<byte> MemoryPool { get; set; } = PinnedBlockMemoryPool.Shared;

    /// <summary>Checks the values once, at start, with a message that names the field.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (MaxInputBufferSize < 4096)
        {
            throw new ArgumentException($"{nameof(MaxInputBufferSize)} is {MaxInputBufferSize}; it must be at least 4096 bytes.");
        }

        if (MaxOutputBufferSize < 4096)
        {
            throw new ArgumentException($"{nameof(MaxOutputBufferSize)} is {MaxOutputBufferSize}; it must be at least 4096 bytes.");
        }

        if (BufferSize is < 512 or > 1024 * 1024)
        {
            throw new ArgumentException($"{nameof(BufferSize)} is {BufferSize}; it must be between 512 bytes and 1 MiB.");
        }

        if (CloseTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(CloseTimeout)} is {CloseTimeout}; it must not be negative.");
        }

        if (KeepAliveTime != Timeout.InfiniteTimeSpan && (KeepAliveTime < TimeSpan.FromSeconds(1) || KeepAliveInterval < TimeSpan.FromSeconds(1)))
        {
            throw new ArgumentException($"{nameof(KeepAliveTime)} ({KeepAliveTime}) and {nameof(KeepAliveInterval)} ({KeepAliveInterval}) must be at least 1 second (TCP counts them in seconds), or KeepAliveTime Timeout.InfiniteTimeSpan to turn keep-alive off.");
        }

        if (KeepAliveRetryCount is < 1 or > 127)
        {
            throw new ArgumentException($"{nameof(KeepAliveRetryCount)} is {KeepAliveRetryCount}; it must be between 1 and 127.");
        }

        if (IdleTimeout != Timeout.InfiniteTimeSpan && IdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(IdleTimeout)} is {IdleTimeout}; it must be positive, or Timeout.InfiniteTimeSpan (off).");
        }

        ArgumentNullException.ThrowIfNull(MemoryPool, nameof(MemoryPool));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }
}
