using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Sockets;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Hostile;

/// <summary>
/// What an idle TLS connection costs: 1,000 of them (both ends in this process), each having carried a frame
/// each way, then quiet. Every pooled buffer is back in the pool while they idle (the receive loops wait with
/// zero-byte reads), and the managed heap and the working set per connection stay under generous bounds.
/// </summary>
[Collection(RunsAlone.Name)]
public class IdleMemoryTests
{
    private const int Wanted = 1_000;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_thousand_idle_TLS_connections_hold_no_pooled_buffer_and_little_memory_each()
    {
        var ct = TestContext.Current.CancellationToken;
        var count = Math.Min(Wanted, (OpenFileLimit() - 200) / 2); // two sockets per connection in this process
        Assert.True(count >= 500, $"The open-file limit ({OpenFileLimit()}) leaves room for only {count} connections; raise ulimit -n.");

        var pki = TestPki.Create();
        var pool = new PinnedBlockMemoryPool();
        var socket = new SocketTransportOptions { MemoryPool = pool, CloseTimeout = Guard.HangTimeout };
        await using var listener = Loopback.ListenTls(pki, o => o.Socket = socket);
        var client = Loopback.TlsClient(pki);
        client.Socket = socket;
        client.HandshakeTimeout = TimeSpan.FromMinutes(2);
        var links = new List<IdlePair>(count);
        try
        {
            // Warm up (code paths, the credentials' shared context), then measure from a quiet, collected heap.
            links.Add(await ConnectAndPingAsync(listener, client, ct));
            var (heapBefore, workingSetBefore) = Measure();

            while (links.Count < count + 1)
            {
                var batch = Math.Min(16, count + 1 - links.Count);
                links.AddRange(await ConnectBatchAsync(listener, client, batch, ct));
            }

            // Idle: every receive loop waits with a zero-byte read, so every block goes back to the pool.
            await WaitUntilAsync(() => pool.RentedBlocks == 0, () => $"{pool.RentedBlocks} pooled blocks still rented by idle connections");
            var (heapAfter, workingSetAfter) = Measure();
            var heapEach = (heapAfter - heapBefore) / count;
            var workingSetEach = (workingSetAfter - workingSetBefore) / count;
            var report = string.Create(CultureInfo.InvariantCulture, $"{count} idle TLS connections (both ends): GC heap {heapEach / 1024.0:0.0} KiB each, working set {workingSetEach / 1024.0:0.0} KiB each (GC heap + OpenSSL + kernel-side pages touched), pooled blocks rented: {pool.RentedBlocks}, retained: {pool.RetainedBlocks}");
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            TestContext.Current.SendDiagnosticMessage(report);

            Assert.Equal(0, pool.RentedBlocks);
            Assert.True(heapEach < 64 * 1024, report);
            Assert.True(workingSetEach < 512 * 1024, report);

            // Still alive after all that idling.
            await links[^1].PingAsync(ct);
        }
        finally
        {
            foreach (var link in links)
            {
                await link.DisposeAsync();
            }
        }
    }

    private static async Task<IdlePair> ConnectAndPingAsync(TransportListener listener, TransportConnectorOptions client, CancellationToken ct)
        => (await ConnectBatchAsync(listener, client, 1, ct))[0];

    /// <summary>Connects <paramref name="count"/> frontends at once, pairs each with its own backend end (by address), and pings each.</summary>
    private static async Task<IdlePair[]> ConnectBatchAsync(TransportListener listener, TransportConnectorOptions client, int count, CancellationToken ct)
    {
        var connector = new TransportConnector(client);
        var clients = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => connector.ConnectAsync(listener.LocalEndPoint, ct).AsTask())).WaitAsync(Refusals.HangGuard, ct);
        var servers = new Dictionary<string, TransportConnection>();
        while (servers.Count < count)
        {
            var server = await listener.AcceptAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct) ?? throw new InvalidOperationException("The listener closed.");
            servers.Add(server.RemoteEndPoint.ToString()!, server);
        }

        var pairs = clients.Select(c => new IdlePair(c, servers[c.LocalEndPoint.ToString()!])).ToArray();
        await Task.WhenAll(pairs.Select(p => p.PingAsync(ct)));
        return pairs;
    }

    /// <summary>
    /// Both ends of one connection, used as an application would: a frame each way, then each end waits in
    /// <see cref="FrameReader.ReadFrameAsync"/> for the next. (A reader still holding its last frame would hold that
    /// frame's buffer: <see cref="FrameReader.Current"/> is a slice of it until the next read.)
    /// </summary>
    private sealed class IdlePair(TransportConnection client, TransportConnection server) : IAsyncDisposable
    {
        private static readonly byte[] Hello = "hello"u8.ToArray();
        private readonly FrameReader _clientFrames = client.CreateFrameReader();
        private readonly FrameReader _serverFrames = server.CreateFrameReader();
        private Task<bool>? _clientNext;
        private Task<bool>? _serverNext;

        public async Task PingAsync(CancellationToken ct)
        {
            await client.Output.WriteFrameAsync(Hello, ct);
            Assert.True(await (_serverNext ?? _serverFrames.ReadFrameAsync(ct).AsTask()).WaitAsync(Refusals.HangGuard, ct));
            Assert.Equal(Hello, _serverFrames.Current.ToArray());
            await server.Output.WriteFrameAsync(Hello, ct);
            Assert.True(await (_clientNext ?? _clientFrames.ReadFrameAsync(ct).AsTask()).WaitAsync(Refusals.HangGuard, ct));
            Assert.Equal(Hello, _clientFrames.Current.ToArray());
            _serverNext = _serverFrames.ReadFrameAsync(ct).AsTask();
            _clientNext = _clientFrames.ReadFrameAsync(ct).AsTask();
        }

        public async ValueTask DisposeAsync()
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
        }
    }

    private static (long Heap, long WorkingSet) Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: false), self.WorkingSet64);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + Refusals.HangGuard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Gave up waiting: {what()}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>This process's soft limit on open files, from /proc/self/limits.</summary>
    private static int OpenFileLimit()
    {
        var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return soft == "unlimited" ? int.MaxValue / 4 : int.Parse(soft, CultureInfo.InvariantCulture);
    }
}
