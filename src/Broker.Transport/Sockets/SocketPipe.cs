using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;

namespace Broker.Transport.Sockets;

/// <summary>
/// One connected socket as a pair of pipes: a receive loop fills <see cref="Input"/>, a send loop drains
/// <see cref="Output"/>. Backpressure is the pipes' own: the receive loop stops reading the socket while
/// <see cref="SocketTransportOptions.MaxInputBufferSize"/> bytes wait unread, and the application's
/// <c>FlushAsync</c> waits while <see cref="SocketTransportOptions.MaxOutputBufferSize"/> bytes wait unsent.
/// Writes flushed while a send is in flight pile up in the output pipe and leave in one gathered send.
/// (The shape of Kestrel's SocketConnection.)
/// </summary>
internal sealed partial class SocketPipe : IDuplexPipe, IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly ApplicationReader _applicationInput;
    private readonly ApplicationWriter _applicationOutput;
    private readonly SocketAwaitableEventArgs _receiver = new();
    private readonly SocketAwaitableEventArgs _sender = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly TimeSpan _closeTimeout;
    private readonly int _bufferSize;
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private Exception? _abortReason;
    private Exception? _sendError;
    private int _disposed;

    private SocketPipe(Socket socket, SocketTransportOptions options)
    {
        _socket = socket;
        _closeTimeout = options.CloseTimeout;
        _bufferSize = options.BufferSize;
        LocalEndPoint = socket.LocalEndPoint!;
        RemoteEndPoint = socket.RemoteEndPoint!;

        // The application's continuations run on the thread pool, never on the socket's completion thread;
        // the pumps' own continuations run inline because they only move buffers.
        _input = new Pipe(new PipeOptions(
            pool: options.MemoryPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.MaxInputBufferSize,
            resumeWriterThreshold: options.MaxInputBufferSize / 2,
            minimumSegmentSize: options.BufferSize,
            useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(
            pool: options.MemoryPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: options.MaxOutputBufferSize,
            resumeWriterThreshold: options.MaxOutputBufferSize / 2,
            minimumSegmentSize: options.BufferSize,
            useSynchronizationContext: false));
        _applicationInput = new ApplicationReader(this, _input.Reader);
        _applicationOutput = new ApplicationWriter(this, _output.Writer);
    }

    /// <summary>What arrives from the peer. Completes after the peer's last byte, or with a <see cref="TransportException"/>.</summary>
    public PipeReader Input => _applicationInput;

    /// <summary>What goes to the peer. Completing it sends what is queued, then half-closes (FIN).</summary>
    public PipeWriter Output => _applicationOutput;

    /// <summary>This side's address.</summary>
    public EndPoint LocalEndPoint { get; }

    /// <summary>The peer's address.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>Fires once both directions are finished: closed, reset or aborted.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Takes ownership of a connected socket and starts its pumps.</summary>
    public static SocketPipe Start(Socket socket, SocketTransportOptions options)
    {
        socket.NoDelay = options.NoDelay;
        var pipe = new SocketPipe(socket, options);
        pipe._receiving = pipe.ReceiveLoopAsync();
        pipe._sending = pipe.SendLoopAsync();
        _ = pipe.SignalClosedAsync();
        return pipe;
    }

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

        _output.Reader.CancelPendingRead();
        _input.Writer.CancelPendingFlush();
        try
        {
            // Linger 0 turns the close into a RST, so the peer learns at once that bytes were dropped.
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
    }

    /// <summary>
    /// Closes gracefully: completes both application ends, lets queued bytes reach the socket and sends
    /// FIN, then closes the socket. Aborts instead when the peer does not take the bytes within
    /// <see cref="SocketTransportOptions.CloseTimeout"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _sending.WaitAsync(_closeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Abort(new ConnectionAbortedException(
                $"The connection was disposed with unsent bytes the peer did not take within the close timeout ({_closeTimeout.TotalSeconds:0.#} s)."));
        }

        _socket.Dispose();
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
    }

    private async Task SignalClosedAsync()
    {
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);

        // Callbacks registered on the token are the application's: never run them on a pump's thread.
        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _closed, preferLocal: false);
    }
}
