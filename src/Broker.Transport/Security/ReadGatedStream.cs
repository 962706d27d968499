using System.Runtime.CompilerServices;

namespace Broker.Transport.Security;

/// <summary>
/// The stream beneath an <see cref="System.Net.Security.SslStream"/> that keeps its close (close_notify) from
/// running while a read is decrypting. OpenSSL objects are not thread-safe; SslStream serializes its encryption
/// and decryption with a lock, but <c>ShutdownAsync</c> drives OpenSSL (SSL_shutdown and a handshake step)
/// outside it. A frontend that half-closes while the backend's records arrive then races its own reads: on
/// .NET 10 with OpenSSL 3.0 this failed the close with "shutdown while in init" (no close_notify, no FIN, the
/// backend waited forever), failed reads with "Decrypt failed with OpenSSL error - SSL_ERROR_SSL", and crashed
/// the process.
/// </summary>
/// <remarks>
/// The read side (the handshake, then the TLS pipe's receive loop) holds the gate at all times except while it
/// waits for bytes from the socket, which is the only time SslStream is not inside OpenSSL on its behalf. The
/// close takes the gate, so it runs between two decryptions, never during one.
/// </remarks>
internal sealed class ReadGatedStream(Stream inner) : Stream
{
    // Count 0: held by the read side from the start.
    private readonly SemaphoreSlim _gate = new(0, 1);
    private volatile bool _sawEndOfStream;

    /// <summary>
    /// Whether a read of the socket returned its end (the peer's FIN). SslStream returns 0 both for a close_notify
    /// and for a FIN without one; after a close_notify it stops reading, so only a cut stream reaches the FIN.
    /// </summary>
    public bool SawEndOfStream => _sawEndOfStream;

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Runs <paramref name="close"/> while no read is decrypting.</summary>
    public async Task CloseExclusivelyAsync(Func<Task> close)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await close().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>No more writes: waits until what was written left the socket (a <see cref="Sockets.WriteBehindStream"/> beneath), so a FIN can follow.</summary>
    public Task EndWritesAsync() => inner is Sockets.WriteBehindStream writes ? writes.EndWritesAsync() : Task.CompletedTask;

    /// <summary>The read side stopped reading for good: the gate is free from now on.</summary>
    public void ReadingEnded() => _gate.Release();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // One per record read: pooled, so reads allocate nothing.
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _gate.Release();
        try
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0 && !buffer.IsEmpty)
            {
                _sawEndOfStream = true;
            }

            return read;
        }
        finally
        {
            await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        _gate.Release();
        try
        {
            var read = inner.Read(buffer, offset, count);
            if (read == 0 && count > 0)
            {
                _sawEndOfStream = true;
            }

            return read;
        }
        finally
        {
            _gate.Wait();
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
