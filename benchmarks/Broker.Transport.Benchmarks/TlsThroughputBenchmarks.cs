using System.Net.Security;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// One-way throughput with encryption Enabled next to Disabled and next to a hand-written
/// <see cref="SslStream"/>, on the workloads of <see cref="ThroughputBenchmarks"/> (same payloads, same counts),
/// in one run so every ratio is measured under the same load. Each category's baseline is the
/// <see cref="SslStream"/> a .NET developer would write: 64 KiB buffers for the bulk category, one
/// <c>WriteAsync</c> per 256-byte message for the small one. Mutual TLS 1.3 throughout, on one issuer's
/// ECDSA P-256 leaves.
/// </summary>
/// <remarks>
/// Floors (the Floor column says whether each held): 64 KiB frames Enabled at least 0.9 of the raw
/// SslStream's throughput; 256-byte frames flushed one by one, Enabled at least 25 times the per-message
/// SslStream and at least 0.8 of Disabled. The Enabled workloads allocate nothing per frame in steady state.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(ThroughputConfig))]
public class TlsThroughputBenchmarks : IProbeWorkloads
{
    private const int BulkSize = 64 * 1024;
    private const int BulkCount = ThroughputBenchmarks.BulkCount;
    private const int SmallSize = 256;
    private const int SmallCount = ThroughputBenchmarks.SmallCount;
    private const int DistinctSmall = 64;

    private readonly ReceiveProgress _sslProgress = new();
    private readonly ReceiveProgress _enabledProgress = new();
    private readonly ReceiveProgress _disabledProgress = new();
    private byte[][] _bulk = []; // one 64 KiB payload
    private byte[][] _small = [];
    private InternalIssuer? _issuer;
    private SslStream? _sslClient;
    private SslStream? _sslServer;
    private Task _sslReceiver = Task.CompletedTask;
    private TransportListener? _enabledListener;
    private TransportConnection? _enabledClient;
    private TransportConnection? _enabledServer;
    private Task _enabledReceiver = Task.CompletedTask;
    private readonly ReceiveProgress _directProgress = new();
    private TransportListener? _directListener;
    private TransportConnection? _directClient;
    private TransportConnection? _directServer;
    private Task _directReceiver = Task.CompletedTask;
    private TransportListener? _disabledListener;
    private TransportConnection? _disabledClient;
    private TransportConnection? _disabledServer;
    private Task _disabledReceiver = Task.CompletedTask;

    /// <summary>Connects once: an SslStream pair, an encrypted and a plaintext transport pair, each drained in the background.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        // The same seeds as ThroughputBenchmarks: the same bytes move in both classes.
        _bulk = Telemetry.FixedSize(1, BulkSize, seed: 7);
        _small = Telemetry.FixedSize(DistinctSmall, SmallSize, seed: 12);
        _issuer = TlsLoopback.StartIssuer();

        (_sslClient, _sslServer) = await TlsLoopback.ConnectSslStreamsAsync(_issuer);
        _sslReceiver = Task.Run(() => TlsLoopback.DrainStreamAsync(_sslServer, _sslProgress, BulkSize));

        (_enabledListener, _enabledClient, _enabledServer) = await TlsLoopback.ConnectTransportAsync(_issuer);
        _enabledReceiver = Task.Run(() => LoopbackPairs.DrainFramesAsync(_enabledServer, _enabledProgress, BulkSize));

        (_directListener, _directClient, _directServer) = await TlsLoopback.ConnectTransportAsync(_issuer, writeBehind: false);
        _directReceiver = Task.Run(() => LoopbackPairs.DrainFramesAsync(_directServer, _directProgress, BulkSize));

        (_disabledListener, _disabledClient, _disabledServer) = await LoopbackPairs.ConnectTransportAsync();
        _disabledReceiver = Task.Run(() => LoopbackPairs.DrainFramesAsync(_disabledServer, _disabledProgress, BulkSize));
    }

    /// <summary>Closes the three pairs gracefully, so a receiver that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await TlsLoopback.CloseAsync(_sslClient, _sslReceiver, _sslServer);
        await TlsLoopback.CloseAsync(_enabledClient, _enabledReceiver, _enabledServer, _enabledListener);
        await TlsLoopback.CloseAsync(_directClient, _directReceiver, _directServer, _directListener);
        await TlsLoopback.CloseAsync(_disabledClient, _disabledReceiver, _disabledServer, _disabledListener);
        _issuer?.Dispose();
    }

    /// <summary>The bulk baseline: 64 KiB writes on an SslStream over a NetworkStream.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    public async ValueTask SslStream_64KiB_writes()
    {
        var received = _sslProgress.Expect((long)BulkCount * BulkSize);
        var stream = _sslClient!;
        for (var i = 0; i < BulkCount; i++)
        {
            await stream.WriteAsync(_bulk[0]);
        }

        await received;
    }

    /// <summary>64 KiB frames through the transport with encryption Enabled, one flush per frame.</summary>
    [Benchmark(OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    [ThroughputFloor(nameof(SslStream_64KiB_writes), 0.9)]
    public ValueTask Enabled_64KiB_frames() => LoopbackPairs.SendFramesFlushEachAsync(_enabledClient!, _enabledProgress, _bulk, BulkCount);

    /// <summary>Enabled with its encrypted writes sent on the encrypting thread (no <c>WriteBehindStream</c>): what the write-behind gains.</summary>
    [Benchmark(OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    public ValueTask Enabled_direct_writes_64KiB_frames() => LoopbackPairs.SendFramesFlushEachAsync(_directClient!, _directProgress, _bulk, BulkCount);

    /// <summary>The same with encryption Disabled.</summary>
    [Benchmark(OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    public ValueTask Disabled_64KiB_frames() => LoopbackPairs.SendFramesFlushEachAsync(_disabledClient!, _disabledProgress, _bulk, BulkCount);

    /// <summary>The naive small-message baseline: one SslStream <c>WriteAsync</c> (one TLS record, one send) per 256-byte message.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    public async ValueTask SslStream_256B_write_each()
    {
        var received = _sslProgress.Expect((long)SmallCount * SmallSize);
        var stream = _sslClient!;
        var small = _small;
        for (var i = 0; i < SmallCount; i++)
        {
            await stream.WriteAsync(small[i % DistinctSmall]);
        }

        await received;
    }

    /// <summary>256-byte frames through the transport with encryption Enabled, flushed one by one.</summary>
    [Benchmark(OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    [ThroughputFloor(nameof(SslStream_256B_write_each), 25)]
    [ThroughputFloor(nameof(Disabled_256B_frames_flush_each), 0.8)]
    public ValueTask Enabled_256B_frames_flush_each() => LoopbackPairs.SendFramesFlushEachAsync(_enabledClient!, _enabledProgress, _small, SmallCount);

    /// <summary>Enabled without the write-behind, 256-byte frames.</summary>
    [Benchmark(OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    public ValueTask Enabled_direct_writes_256B_frames_flush_each() => LoopbackPairs.SendFramesFlushEachAsync(_directClient!, _directProgress, _small, SmallCount);

    /// <summary>The same with encryption Disabled.</summary>
    [Benchmark(OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    public ValueTask Disabled_256B_frames_flush_each() => LoopbackPairs.SendFramesFlushEachAsync(_disabledClient!, _disabledProgress, _small, SmallCount);

    /// <inheritdoc />
    IEnumerable<ProbeWorkload> IProbeWorkloads.Workloads() =>
    [
        new(nameof(SslStream_64KiB_writes), SslStream_64KiB_writes, BulkCount),
        new(nameof(Enabled_64KiB_frames), Enabled_64KiB_frames, BulkCount),
        new(nameof(Disabled_64KiB_frames), Disabled_64KiB_frames, BulkCount),
        new(nameof(SslStream_256B_write_each), SslStream_256B_write_each, SmallCount),
        new(nameof(Enabled_256B_frames_flush_each), Enabled_256B_frames_flush_each, SmallCount),
        new(nameof(Disabled_256B_frames_flush_each), Disabled_256B_frames_flush_each, SmallCount),
    ];
}
