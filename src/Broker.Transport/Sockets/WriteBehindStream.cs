using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Broker.Transport.Sockets;

/// <summary>
/// The socket as the stream beneath an <see cref="System.Net.Security.SslStream"/>, with the sends taken off the
/// encrypting thread. A write of records sends them at once, on the caller's thread, when nothing is waiting to
/// be sent and the write is small (a ping-pong's record pays no hop); otherwise it copies them into a queue that
/// a send loop drains, so the next records are encrypted while these are sent (on two cores, encryption and the
/// send system calls overlap: bulk throughput rises by about a quarter, measured by <c>StackedTlsBenchmarks</c>).
/// Order is kept: a write goes inline only when the queue is empty. Reads go straight to the socket.
/// </summary>
internal sealed class WriteBehindStream : Stream
{
    // Records up to this size go inline when the queue is empty: latency matters there, and a small send costs
    // little on the encrypting thread. A full 16 KiB record is bulk: it is queued.
    private const int InlineLimit = 4 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _reads;
    private readonly Pipe _queue;
    private readonly SocketAwaitableEventArgs _sender = SocketAwaitableEventArgs.Rent();
    private readonly Task _sending;
    private long _pending; // bytes queued and not yet sent
    private volatile Exception? _failed;
    private int _ended;
    private int _closed;

    /// <param name="socket">The connected socket; it stays the caller's.</param>
    /// <param name="options">The memory pool, and the bound of what may wait unsent (<see cref="SocketTransportOptions.MaxOutputBufferSize"/>).</param>
    public WriteBehindStream(Socket socket, SocketTransportOptions options)
    {
        _socket = socket;
        _reads = new NetworkStream(socket, ownsSocket: false);

        // After the NetworkStream, which wants a blocking socket when it is made and reads asynchronously after:
        // an inline send must take what the socket buffer has room for and return, never wait for the peer.
        socket.Blocking = false;
        var limit = Math.Max(options.MaxOutputBufferSize, 64 * 1024);
        _queue = new Pipe(new PipeOptions(
            pool: options.MemoryPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: limit,
            resumeWriterThreshold: limit / 2,
            useSynchronizationContext: false));
        _sending = SendLoopAsync();
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _reads.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _reads.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _reads.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfFailed();
        if (buffer.Length <= InlineLimit && Volatile.Read(ref _pending) == 0)
        {
            // The loop is idle (nothing pending) and only this writer adds to the queue: send here. A send the
            // socket takes only in part leaves the rest to the queue, behind which nothing can have slipped.
            var sent = TrySendInline(buffer.Span);
            if (sent == buffer.Length)
            {
                return ValueTask.CompletedTask;
            }

            buffer = buffer[sent..];
        }

        return QueueAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Nothing to do: what was written leaves without a flush (see <see cref="EndWritesAsync"/> to wait for it).</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    /// <summary>No more writes: waits until everything queued was sent (or the send failed), so that a FIN can follow.</summary>
    public async Task EndWritesAsync()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            await _queue.Writer.CompleteAsync().ConfigureAwait(false);
        }

        await _sending.ConfigureAwait(false);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);

        // Stream's own DisposeAsync calls Dispose, whose CloseAsync finds the work done.
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async ValueTask CloseAsync()
    {
        // What SslStream wrote last (an alert, a close_notify) still leaves, unless the socket cannot take it
        // within a moment: the owner closes the socket next, which ends the loop in any case.
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            await _queue.Writer.CompleteAsync().ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            await _sending.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);

            // The loop has ended, so no send is pending on the event args: they go back to the pool.
            SocketAwaitableEventArgs.Return(_sender);
        }
        catch (TimeoutException)
        {
            // A send may still be pending: these event args are not reused.
            _queue.Reader.CancelPendingRead();
            _sender.Dispose();
        }
        await _reads.DisposeAsync().ConfigureAwait(false);
    }

    private int TrySendInline(ReadOnlySpan<byte> span)
    {
        try
        {
            // Non-blocking: a socket buffer too full to take it all returns what it took.
            var sent = _socket.Send(span, SocketFlags.None, out var error);
            if (error is SocketError.Success or SocketError.WouldBlock)
            {
                return Math.Max(sent, 0);
            }

            throw Failed(new SocketException((int)error));
        }
        catch (ObjectDisposedException ex)
        {
            throw Failed(ex);
        }
    }

    // Once per queued record when the queue is full (backpressure): pooled, as TlsPipe's writes are, so a write that
    // completes asynchronously allocates nothing.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask QueueAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _pending, buffer.Length);
        var flush = await _queue.Writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (flush.IsCompleted || flush.IsCanceled)
        {
            ThrowIfFailed();
            throw new IOException("The connection's send loop has ended; nothing more can be sent.");
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    var sent = await _sender.SendAsync(_socket, buffer).ConfigureAwait(false);
                    buffer = buffer.Slice(sent);
                    Interlocked.Add(ref _pending, -sent);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await reader.CompleteAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The loop's failure is the next write's: it is kept and thrown there.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Failed(ex);
            await reader.CompleteAsync(ex).ConfigureAwait(false);
        }
    }

    private IOException Failed(Exception ex)
    {
        var io = ex as IOException ?? new IOException($"Unable to write data to the transport connection: {ex.Message}", ex);
        _failed ??= io;
        return io;
    }

    private void ThrowIfFailed()
    {
        if (_failed is { } failed)
        {
            throw failed;
        }
    }
}
