using System.Buffers;
using System.Collections.Concurrent;

namespace Broker.Transport.Sockets;

/// <summary>
/// The transport's default buffer pool: fixed-size blocks allocated on the pinned object heap and reused,
/// so the socket pipes allocate nothing in steady state. (The shape of Kestrel's PinnedBlockMemoryPool.)
/// </summary>
/// <remarks>
/// <see cref="MemoryPool{T}.Shared"/> is not enough here: it is backed by <see cref="ArrayPool{T}.Shared"/>,
/// which keeps only a few dozen arrays of a size per core, while one busy connection holds up to
/// <see cref="SocketTransportOptions.MaxInputBufferSize"/> plus <see cref="SocketTransportOptions.MaxOutputBufferSize"/>
/// (3 MiB by default, about 200 buffers of 16 KiB) and hands them back in bursts. The surplus was dropped and
/// allocated again: measured at about 40 KB per 64 KiB frame, and 150 B per 256-byte frame.
/// Blocks are pinned because the socket pins every buffer it sends or receives; on the pinned heap they
/// never stand in the compacting GC's way. At most <see cref="MaxRetainedBytes"/> of idle blocks are kept;
/// blocks returned beyond that are left to the GC. Blocks are large (64 KiB) because this transport carries
/// few, busy connections between pods: a connection with unread or unsent bytes holds at least one block
/// per direction, an idle one holds none (its receive waits for data before it rents a buffer).
/// </remarks>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    /// <summary>
    /// The size of every block: 64 KiB. A receive fills what is left of the current block, so a bulk transfer
    /// reads up to 64 KiB per system call and a 64 KiB frame wakes its reader about once rather than four
    /// times; a gathered send carries up to 8 blocks (512 KiB).
    /// </summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>The most idle memory the pool keeps for reuse: 64 MiB.</summary>
    public const long MaxRetainedBytes = 64L * 1024 * 1024;

    private const int MaxRetainedBlocks = (int)(MaxRetainedBytes / BlockSize);
    private readonly ConcurrentQueue<Block> _blocks = new();
    private int _retained;
    private int _allocated;

    /// <summary>The pool every connection shares unless its options name another.</summary>
    public static new PinnedBlockMemoryPool Shared { get; } = new();

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <summary>How many idle blocks the pool holds now.</summary>
    public int RetainedBlocks => Volatile.Read(ref _retained);

    /// <summary>
    /// How many blocks are rented out now: the memory the connections hold. Zero once every connection is idle
    /// (an idle connection holds no block). Counted only where blocks are made or dropped, off the hot path.
    /// </summary>
    public int RentedBlocks => Volatile.Read(ref _allocated) - Volatile.Read(ref _retained);

    /// <inheritdoc />
    /// <remarks>A pipe asks only for up to <see cref="MaxBufferSize"/>; it takes larger buffers from the array pool itself.</remarks>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_blocks.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
            return block;
        }

        Interlocked.Increment(ref _allocated);
        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        // The shared pool lives as long as the process; a pool is never disposed while pipes use it.
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) <= MaxRetainedBlocks)
        {
            _blocks.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
            Interlocked.Decrement(ref _allocated); // left to the GC
        }
    }

    /// <summary>One block. Disposing it, as the pipe does when it is done with a segment, returns it to the pool.</summary>
    private sealed class Block(PinnedBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public void Dispose() => pool.Return(this);
    }
}
