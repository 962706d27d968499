using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Broker.Transport.Connections;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Sockets;

[Collection(RunsAlone.Name)]
public class LargeTransferTests
{
    private const long BytesEachWay = 256L * 1024 * 1024;
    private const int ChunkSize = 1024 * 1024;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_quarter_gibibyte_each_way_at_once_arrives_with_the_same_hash()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        var clientSends = Task.Run(() => SendAsync(client.Output, BytesEachWay, seed: 1, ct), ct);
        var serverSends = Task.Run(() => SendAsync(server.Output, BytesEachWay, seed: 2, ct), ct);
        var serverReceives = Task.Run(() => ReceiveAsync(server.Input, ct), ct);
        var clientReceives = Task.Run(() => ReceiveAsync(client.Input, ct), ct);
        await Task.WhenAll(clientSends, serverSends, serverReceives, clientReceives).WaitAsync(TimeSpan.FromSeconds(90), ct);

        Assert.Equal(BytesEachWay, (await serverReceives).Length);
        Assert.Equal(Convert.ToHexString(await clientSends), Convert.ToHexString((await serverReceives).Hash));
        Assert.Equal(BytesEachWay, (await clientReceives).Length);
        Assert.Equal(Convert.ToHexString(await serverSends), Convert.ToHexString((await clientReceives).Hash));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Small_pipe_segments_that_need_many_gathered_sends_per_flush_arrive_intact()
    {
        // 512-byte segments from the shared array pool (the transport's own pool hands out 64 KiB blocks
        // whatever the buffer size): a 1 MiB flush is about 2048 of them, far more than one gathered send
        // carries (SocketAwaitableEventArgs caps a send at a few segments), so the send loop must send the
        // rest in further calls without losing or repeating any.
        const long Bytes = 24L * 1024 * 1024;
        var ct = TestContext.Current.CancellationToken;
        var small = Loopback.Patient();
        small.BufferSize = 512;
        small.MemoryPool = MemoryPool<byte>.Shared;
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(small));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(small), ct);
        await using var _ = client;
        await using var __ = server;

        var sending = Task.Run(() => SendAsync(client.Output, Bytes, seed: 3, ct), ct);
        var receiving = Task.Run(() => ReceiveAsync(server.Input, ct), ct);
        await Task.WhenAll(sending, receiving).Guarded(ct);

        Assert.Equal(Bytes, (await receiving).Length);
        Assert.Equal(Convert.ToHexString(await sending), Convert.ToHexString((await receiving).Hash));
    }

    /// <summary>
    /// Sends <paramref name="total"/> deterministic bytes in 1 MiB writes, then completes. Every chunk is
    /// the same random block stamped with its index, so a lost, repeated or swapped chunk changes the hash
    /// while generating the data costs next to nothing. Returns the SHA-256 of what was written.
    /// </summary>
    private static async Task<byte[]> SendAsync(PipeWriter output, long total, int seed, CancellationToken cancellationToken)
    {
        var block = TestData.Bytes(ChunkSize, seed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long index = 0; index < total / ChunkSize; index++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block, index);
            BinaryPrimitives.WriteInt64LittleEndian(block.AsSpan(ChunkSize / 2), index ^ seed);
            hash.AppendData(block);
            var flush = await output.WriteAsync(block, cancellationToken);
            Assert.False(flush.IsCompleted, $"The peer stopped reading after {index} chunk(s).");
        }

        await output.CompleteAsync();
        return hash.GetHashAndReset();
    }

    private static async Task<(long Length, byte[] Hash)> ReceiveAsync(PipeReader input, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }

            length += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return (length, hash.GetHashAndReset());
            }
        }
    }
}
