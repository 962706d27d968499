using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// One-way throughput over a real loopback TCP connection, this transport against a plain socket, in one
/// run so the ratios compare against baselines measured under the same load. Each invocation moves a fixed
/// number of bytes and ends when the background receiver has counted them all; results are per frame
/// (per 64 KiB buffer or 256-byte message on the baselines).
/// </summary>
/// <remarks>
/// Floors: the 64 KiB frames reach at least 0.9 of the raw socket's throughput (Ratio at most 1.11), the
/// 256-byte frames flushed one by one at least 0.7 of the pre-packed baseline (Ratio at most 1.43), and
/// the transport allocates nothing per frame in steady state.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(ThroughputConfig))]
public class ThroughputBenchmarks : IProbeWorkloads
{
    /// <summary>The category of the bulk workloads: 64 KiB per write or frame.</summary>
    public const string Bulk = "64KiB";

    /// <summary>The category of the small-message workloads: 256 bytes per message.</summary>
    public const string Small = "256B";

    private const int BulkSize = 64 * 1024;
    internal const int BulkCount = 1024; // 64 MiB per invocation
    private const int SmallSize = 256;
    internal const int SmallCount = 64 * 1024; // 16 MiB per invocation
    private const int PackedWriteSize = 16 * 1024;
    private const int SmallPerPackedWrite = PackedWriteSize / SmallSize;
    private const int DistinctSmall = 64;

    private readonly ReceiveProgress _socketProgress = new();
    private readonly ReceiveProgress _transportProgress = new();
    private byte[][] _bulk = []; // one 64 KiB payload
    private byte[][] _small = [];
    private byte[] _packed = [];
    private Socket? _socketClient;
    private Socket? _socketServer;
    private NetworkStream? _socketStream;
    private Task _socketReceiver = Task.CompletedTask;
    private TransportListener? _listener;
    private TransportConnection? _transportClient;
    private TransportConnection? _transportServer;
    private Task _transportReceiver = Task.CompletedTask;

    /// <summary>Connects once: a socket pair and a transport pair, each with its receiver draining in the background.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _bulk = Telemetry.FixedSize(1, BulkSize, seed: 7);
        _small = Telemetry.FixedSize(DistinctSmall, SmallSize, seed: 12);
        _packed = new byte[PackedWriteSize];
        for (var i = 0; i < SmallPerPackedWrite; i++)
        {
            _small[i % DistinctSmall].CopyTo(_packed, i * SmallSize);
        }

        (_socketClient, _socketServer) = await LoopbackPairs.ConnectSocketsAsync();
        _socketStream = new NetworkStream(_socketClient, ownsSocket: false);
        _socketReceiver = Task.Run(() => LoopbackPairs.DrainSocketAsync(_socketServer, _socketProgress, BulkSize));

        (_listener, _transportClient, _transportServer) = await LoopbackPairs.ConnectTransportAsync();
        _transportReceiver = Task.Run(() => LoopbackPairs.DrainFramesAsync(_transportServer, _transportProgress, BulkSize));
    }

    /// <summary>Closes both pairs gracefully, so a receiver that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _socketClient?.Shutdown(SocketShutdown.Send);
        await _socketReceiver;
        _socketStream?.Dispose();
        _socketClient?.Dispose();
        _socketServer?.Dispose();

        await TlsLoopback.CloseAsync(_transportClient, _transportReceiver, _transportServer, _listener);
    }

    /// <summary>(a) The bulk baseline: 64 KiB writes on a plain socket.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(Bulk)]
    public async ValueTask Socket_64KiB_writes()
    {
        var received = _socketProgress.Expect((long)BulkCount * BulkSize);
        var stream = _socketStream!;
        for (var i = 0; i < BulkCount; i++)
        {
            await stream.WriteAsync(_bulk[0]);
        }

        await received;
    }

    /// <summary>(c) 64 KiB frames through the transport, one flush per frame, read with a <see cref="FrameReader"/>.</summary>
    [Benchmark(OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(Bulk)]
    [ThroughputFloor(nameof(Socket_64KiB_writes), 0.9)]
    public ValueTask Transport_64KiB_frames()
        => LoopbackPairs.SendFramesFlushEachAsync(_transportClient!, _transportProgress, _bulk, BulkCount);

    /// <summary>(b) The ideal small-message baseline: 256-byte messages packed 64 to a 16 KiB write on a plain socket.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(Small)]
    public async ValueTask Socket_256B_packed_16KiB_writes()
    {
        var received = _socketProgress.Expect((long)SmallCount * SmallSize);
        var stream = _socketStream!;
        for (var i = 0; i < SmallCount / SmallPerPackedWrite; i++)
        {
            await stream.WriteAsync(_packed);
        }

        await received;
    }

    /// <summary>(d) 256-byte frames through the transport, flushed one by one, read with a <see cref="FrameReader"/>.</summary>
    [Benchmark(OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(Small)]
    [ThroughputFloor(nameof(Socket_256B_packed_16KiB_writes), 0.7)]
    public ValueTask Transport_256B_frames_flush_each()
        => LoopbackPairs.SendFramesFlushEachAsync(_transportClient!, _transportProgress, _small, SmallCount);

    /// <inheritdoc />
    IEnumerable<ProbeWorkload> IProbeWorkloads.Workloads() =>
    [
        new(nameof(Socket_64KiB_writes), Socket_64KiB_writes, BulkCount),
        new(nameof(Transport_64KiB_frames), Transport_64KiB_frames, BulkCount),
        new(nameof(Socket_256B_packed_16KiB_writes), Socket_256B_packed_16KiB_writes, SmallCount),
        new(nameof(Transport_256B_frames_flush_each), Transport_256B_frames_flush_each, SmallCount),
    ];
}
