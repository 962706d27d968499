using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;

namespace Broker.Transport.Sockets;

/// <summary>
/// What every connection is underneath, whatever moves its bytes: a connected socket, an input pipe
/// that a receive loop fills and an output pipe that a send loop drains. The plaintext
/// <see cref="SocketPipe"/> pumps the socket directly; the TLS pipe pumps an <c>SslStream</c> over it.
/// Backpressure is the pipes' own: the receive loop stops while
/// <see cref="SocketTransportOptions.MaxInputBufferSize"/> bytes wait unread, and the application's
/// <c>FlushAsync</c> waits while <see cref="SocketTransportOptions.MaxOutputBufferSize"/> bytes wait unsent.
/// </summary>
internal abstract partial class PipeConnection : IDuplexPipe, IAsyncDisposable
{
    private readonly CancellationTokenSource _closed = new();
    private readonly TimeSpan _closeTimeout;
    private readonly TimeProvider _closeClock;
    private readonly ApplicationReader _applicationInput;
    private readonly ApplicationWriter _applicationOutput;
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private Exception? _abortReason;
    private Exception? _sendError;
    private Exception? _inputError;
    private long _bytesSent;
    private long _bytesReceived;
    private int _disposed;

    protected PipeConnection(Socket socket, SocketTransportOptions options)
    {
        Socket = socket;
        _closeTimeout = options.CloseTimeout;
        _closeClock = options.TimeProvider;
        BufferSize = options.BufferSize;
        LocalEndPoint = socket.LocalEndPoint!;
        RemoteEndPoint = socket.RemoteEndPoint!;
        InitializeLiveness(socket, options);

        // The application's continuations run on the thread pool, never on a pump's thread; the receive
        // loop's own continuation runs inline because it only moves buffers.
        InputPipe = new Pipe(new PipeOptions(
            pool: options.MemoryPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.MaxInputBufferSize,
            resumeWriterThreshold: options.MaxInputBufferSize / 2,
            minimumSegmentSize: options.BufferSize,
            useSynchronizationContext: false));
        OutputPipe = new Pipe(new PipeOptions(
            pool: options.MemoryPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: options.MaxOutputBufferSize,
            resumeWriterThreshold: options.MaxOutputBufferSize / 2,
            minimumSegmentSize: options.BufferSize,
            useSynchronizationContext: false));
        _applicationInput = new ApplicationReader(this, InputPipe.Reader);
        _applicationOutput = new ApplicationWriter(this, OutputPipe.Writer);
    }

    /// <summary>What arrives from the peer. Completes after the peer's last byte, or with a <see cref="TransportException"/>.</summary>
    public PipeReader Input => _applicationInput;

    /// <summary>What goes to the peer. Completing it sends what is queued, then half-closes.</summary>
    public PipeWriter Output => _applicationOutput;

    /// <summary>This side's address.</summary>
    public EndPoint LocalEndPoint { get; }

    /// <summary>The peer's address.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>Fires once both directions are finished: closed, reset or aborted.</summary>
    public CancellationToken Closed => _closed.Token;

    protected Socket Socket { get; }

    protected Pipe InputPipe { get; }

    protected Pipe OutputPipe { get; }

    protected int BufferSize { get; }

    /// <summary>The application bytes sent so far (before encryption). Read by the metrics, from any thread.</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>The application bytes received so far (after decryption).</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>What the input completed with: null for a clean end, else the reset, abort or mismatch.</summary>
    public Exception? InputError => Volatile.Read(ref _inputError);

    /// <summary>The reason given to <see cref="Abort"/>, once it was called.</summary>
    protected Exception? AbortReason => Volatile.Read(ref _abortReason);

    /// <summary>Set when the receive side learned the connection is dead, so the send side stops too.</summary>
    protected Exception? SendError => Volatile.Read(ref _sendError);

    /// <summary>
    /// Ends the connection at once: the peer sees a reset, and this side's pending and later reads and
    /// flushes fail with <paramref name="reason"/>. Bytes not yet sent are dropped.
    /// </summary>
    public void Abort(ConnectionAbortedException reason)
    {
        if (Interlocked.CompareExchange(ref _abortReason, reason, null) is not null)
        {
            return;
        }

        OutputPipe.Reader.CancelPendingRead();
        InputPipe.Writer.CancelPendingFlush();
        // Linger 0 turns the close into a RST, so the peer learns at once that bytes were dropped.
        SocketReset.OnClose(Socket);
        Socket.Dispose();
    }

    /// <summary>
    /// Closes gracefully: completes both application ends, lets queued bytes reach the socket and
    /// half-closes, then closes the socket. Aborts instead when the peer does not take the bytes within
    /// <see cref="SocketTransportOptions.CloseTimeout"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await OutputPipe.Writer.CompleteAsync().ConfigureAwait(false);
        await InputPipe.Reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _sending.WaitAsync(_closeTimeout, _closeClock).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Abort(new ConnectionAbortedException(
                $"The connection was disposed with unsent bytes that the peer did not take within the close timeout ({_closeTimeout.TotalSeconds:0.#} s)."));
        }

        Socket.Dispose();
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
        await DisposeCoreAsync().ConfigureAwait(false);
    }

    /// <summary>Starts the two pumps; called once, by the subclass, when it is ready to move bytes.</summary>
    protected void Start()
    {
        StartIdleTimer();
        _receiving = ReceiveLoopAsync();
        _sending = SendLoopAsync();
        _ = SignalClosedAsync();
    }

    /// <summary>Fills <see cref="InputPipe"/> until the peer half-closes or fails; returns the error to complete it with.</summary>
    protected abstract Task<Exception?> ReceiveAsync();

    /// <summary>
    /// Writes the start of <paramref name="buffer"/> (never empty) to the peer; returns how many bytes it took.
    /// Taking part of what is queued and handing it back before the next call lets the application's paused
    /// flush resume as soon as the backlog falls under the threshold, so writing and sending overlap.
    /// </summary>
    protected abstract ValueTask<int> WriteSomeAsync(ReadOnlySequence<byte> buffer);

    /// <summary>Everything queued has left: tells the peer no more is coming, so its Input completes after the last byte.</summary>
    protected abstract ValueTask HalfCloseAsync();

    /// <summary>
    /// Called by the receive loop for every receive that brought bytes: counts them and marks the peer alive.
    /// Each direction's count has one writer (its pump), so a plain add published by a volatile write is
    /// enough: once per receive, no interlocked operation.
    /// </summary>
    protected void Received(int bytes)
    {
        Volatile.Write(ref _bytesReceived, _bytesReceived + bytes);
        MarkReceived();
    }

    /// <inheritdoc cref="Received"/>
    private void CountSent(int bytes) => Volatile.Write(ref _bytesSent, _bytesSent + bytes);

    /// <summary>Releases what the subclass owns beyond the socket.</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    /// <summary>Sorts a socket failure into the transport's typed errors; null for our own close.</summary>
    protected TransportException? Classify(Exception ex, string doing)
    {
        while (ex is IOException { InnerException: SocketException or ObjectDisposedException } io)
        {
            ex = io.InnerException!;
        }

        return ex switch
        {
            TransportException transport => transport,
            SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NetworkReset or SocketError.TimedOut } se
                => new ConnectionResetException($"The peer at {RemoteEndPoint} reset the connection or vanished while {doing} ({se.SocketErrorCode}); bytes in flight may be lost.", se),

            // Our own close or abort woke the pending operation: the abort reason, if any, is reported instead.
            SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted } => null,
            ObjectDisposedException => null,
            OperationCanceledException when AbortReason is not null => null,
            _ => new TransportException($"The connection to {RemoteEndPoint} failed while {doing}: {ex.Message}", ex),
        };
    }

    private async Task ReceiveLoopAsync()
    {
        var error = await ReceiveAsync().ConfigureAwait(false);
        error = AbortReason ?? error;
        Volatile.Write(ref _inputError, error);
        if (error is not null)
        {
            // A dead connection takes nothing more: stop the send loop too, with the same error.
            Volatile.Write(ref _sendError, error);
            OutputPipe.Reader.CancelPendingRead();
        }

        // Completed cleanly even after an error: the application's reader hands out what arrived, then the error.
        await InputPipe.Writer.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Drains <see cref="OutputPipe"/> until the application completes it, then half-closes; returns the error, if any.</summary>
    private async Task<Exception?> SendAsync()
    {
        var reader = OutputPipe.Reader;
        try
        {
            var closing = false;
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    // An abort or a dead receive side stops at once; the transport's close (CloseAsync) sends what
                    // was flushed first.
                    if (CloseReason is null || AbortReason is not null || SendError is not null)
                    {
                        return null;
                    }

                    closing = true;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    var sent = await WriteSomeAsync(buffer).ConfigureAwait(false);
                    CountSent(sent);
                    buffer = buffer.Slice(sent);
                }

                reader.AdvanceTo(buffer.Start);
                if ((result.IsCompleted || closing) && buffer.IsEmpty)
                {
                    break;
                }
            }

            if (AbortReason is null && SendError is null)
            {
                await HalfCloseAsync().ConfigureAwait(false);
            }

            // The application's later flushes fail with the transport's reason instead of vanishing.
            return closing ? CloseReason : null;
        }
        catch (Exception ex)
        {
            return Classify(ex, "sending");
        }
    }

    private async Task SendLoopAsync()
    {
        var error = await SendAsync().ConfigureAwait(false);
        error = AbortReason ?? SendError ?? error;
        await OutputPipe.Reader.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SignalClosedAsync()
    {
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
        StopIdleTimer();

        // Callbacks registered on the token are the application's: never run them on a pump's thread.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _closed, preferLocal: false);
    }
}
