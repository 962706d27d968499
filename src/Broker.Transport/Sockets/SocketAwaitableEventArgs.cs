using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace Broker.Transport.Sockets;

/// <summary>
/// A reusable <see cref="SocketAsyncEventArgs"/> that can be awaited as a <see cref="ValueTask{Int32}"/>,
/// so a receive or a send costs no allocation. One instance serves one operation at a time; each
/// connection holds one for receiving and one for sending (the shape of Kestrel's SocketReceiver and
/// SocketSender), rented from <see cref="Rent"/> and given back once its pumps have ended, so a new
/// connection does not make two again (with the callbacks the runtime adds at first use, about 700 B;
/// measured by <c>allocs connections</c>, see the benchmarks README).
/// </summary>
internal sealed class SocketAwaitableEventArgs : SocketAsyncEventArgs, IValueTaskSource<int>
{
    // Enough for 128 plaintext connections closing at once; above that a connection makes its own, as before.
    // The provider makes a pool that disposes what it does not keep (the type is IDisposable).
    private static readonly ObjectPool<SocketAwaitableEventArgs> Pool = new DefaultObjectPoolProvider { MaximumRetained = 256 }.Create(new Policy());

    // At most 8 segments per gathered send: on Unix the runtime pins and describes up to 8 buffers on the
    // stack (SocketPal's IovStackThreshold, Linux's UIO_FASTIOV) and allocates two arrays per send above
    // that, measured at about 110 B per 64 KiB frame. 8 of the default pool's 64 KiB blocks is 512 KiB per
    // system call, which is plenty; the rest leaves in the next call.
    private const int MaxBufferListSegments = 8;

    private ManualResetValueTaskSourceCore<int> _source;
    private List<ArraySegment<byte>>? _bufferList;

    public SocketAwaitableEventArgs()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        // Continuations run inline on the I/O thread: the pumps only move buffers, never run user code.
        _source.RunContinuationsAsynchronously = false;
    }

    /// <summary>An idle instance from the pool, or a new one.</summary>
    public static SocketAwaitableEventArgs Rent() => Pool.Get();

    /// <summary>
    /// Gives an instance back. Only once no operation can be pending on it: its pump awaited every operation it
    /// started and has ended (the socket's completion marks it free before the continuation runs).
    /// </summary>
    public static void Return(SocketAwaitableEventArgs args) => Pool.Return(args);

    /// <summary>Waits until the socket has data, without holding a buffer while it waits.</summary>
    public ValueTask<int> WaitForDataAsync(Socket socket)
    {
        SetBuffer(Memory<byte>.Empty);
        return Receive(socket);
    }

    /// <summary>Receives into <paramref name="buffer"/>; 0 means the peer half-closed.</summary>
    public ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        return Receive(socket);
    }

    /// <summary>
    /// Sends <paramref name="buffers"/>, gathering several segments into one system call. Returns the
    /// number of bytes sent, which is less than the sequence's length only when it had more segments than
    /// one call may carry.
    /// </summary>
    public ValueTask<int> SendAsync(Socket socket, in ReadOnlySequence<byte> buffers)
    {
        if (buffers.IsSingleSegment)
        {
            if (BufferList is not null)
            {
                BufferList = null;
            }

            SetBuffer(MemoryMarshal.AsMemory(buffers.First));
        }
        else
        {
            SetBufferList(buffers);
        }

        _source.Reset();
        if (socket.SendAsync(this))
        {
            return new ValueTask<int>(this, _source.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    private ValueTask<int> Receive(Socket socket)
    {
        _source.Reset();
        if (socket.ReceiveAsync(this))
        {
            return new ValueTask<int>(this, _source.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    private void SetBufferList(in ReadOnlySequence<byte> buffers)
    {
        if (Buffer is not null || MemoryBuffer.Length != 0)
        {
            // A SocketAsyncEventArgs carries either one buffer or a list, never both.
            SetBuffer(null, 0, 0);
        }

        _bufferList ??= new List<ArraySegment<byte>>(16);
        _bufferList.Clear();
        foreach (var segment in buffers)
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            if (!MemoryMarshal.TryGetArray(segment, out var array))
            {
                throw new InvalidOperationException("The transport's memory pool must hand out array-backed buffers.");
            }

            _bufferList.Add(array);
            if (_bufferList.Count == MaxBufferListSegments)
            {
                break;
            }
        }

        // Setting BufferList makes the socket copy the list into its own array of GCHandles; assigning
        // the same instance again is how it is told the contents changed.
        BufferList = _bufferList;
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success)
        {
            _source.SetResult(BytesTransferred);
        }
        else
        {
            _source.SetException(new SocketException((int)SocketError));
        }
    }

    /// <summary>Forgets the last operation's buffers, so a pooled instance holds no pool block of a closed connection.</summary>
    private void Reset()
    {
        if (BufferList is not null)
        {
            BufferList = null;
        }

        _bufferList?.Clear();
        SetBuffer(null, 0, 0);
    }

    int IValueTaskSource<int>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);

    private sealed class Policy : IPooledObjectPolicy<SocketAwaitableEventArgs>
    {
        public SocketAwaitableEventArgs Create() => new();

        public bool Return(SocketAwaitableEventArgs obj)
        {
            obj.Reset();
            return true;
        }
    }
}
