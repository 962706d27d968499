using System.Net.Security;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Broker.Transport.Certificates;
using Broker.Transport.Sockets;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Whether TLS could share the plaintext layer's socket I/O: the same <see cref="SslStream"/> writes, once on a
/// <see cref="System.Net.Sockets.NetworkStream"/> (what the TLS layer does: SslStream directly on the socket) and
/// once stacked on the socket pipes of the plaintext layer (<see cref="PipeStream"/>, Kestrel's shape: one socket
/// I/O path under both modes). Same payloads and counts as <see cref="TlsThroughputBenchmarks"/>, in one run, so
/// the ratio is what the stacking alone costs. Mutual TLS 1.3 on one issuer's P-256 leaves.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(ThroughputConfig))]
public class StackedTlsBenchmarks : IProbeWorkloads
{
    private const int BulkSize = 64 * 1024;
    private const int BulkCount = ThroughputBenchmarks.BulkCount;
    private const int SmallSize = 256;
    private const int SmallCount = ThroughputBenchmarks.SmallCount;
    private const int DistinctSmall = 64;

    private readonly ReceiveProgress _directProgress = new();
    private readonly ReceiveProgress _stackedProgress = new();
    private byte[][] _bulk = [];
    private byte[][] _small = [];
    private InternalIssuer? _issuer;
    private SslStream? _directClient;
    private SslStream? _directServer;
    private Task _directReceiver = Task.CompletedTask;
    private SslStream? _stackedClient;
    private SslStream? _stackedServer;
    private Task _stackedReceiver = Task.CompletedTask;

    /// <summary>Connects the two SslStream pairs, each drained in the background.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _bulk = Telemetry.FixedSize(1, BulkSize, seed: 7);
        _small = Telemetry.FixedSize(DistinctSmall, SmallSize, seed: 12);
        _issuer = TlsLoopback.StartIssuer();
        var backend = _issuer.Backend.GetCurrent();
        var frontend = _issuer.Frontend.GetCurrent();

        (_directClient, _directServer) = await TlsLoopback.ConnectSslStreamsAsync(backend, frontend, TlsLoopback.ServerIdentity);
        _directReceiver = Task.Run(() => TlsLoopback.DrainStreamAsync(_directServer, _directProgress, BulkSize));

        (_stackedClient, _stackedServer) = await TlsLoopback.ConnectSslStreamsAsync(
            backend, frontend, TlsLoopback.ServerIdentity, socket => new PipeStream(SocketPipe.Start(socket, new SocketTransportOptions())));
        _stackedReceiver = Task.Run(() => TlsLoopback.DrainStreamAsync(_stackedServer, _stackedProgress, BulkSize));
    }

    /// <summary>Closes both pairs gracefully, so a receiver that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await TlsLoopback.CloseAsync(_directClient, _directReceiver, _directServer);
        await TlsLoopback.CloseAsync(_stackedClient, _stackedReceiver, _stackedServer);
        _issuer?.Dispose();
    }

    /// <summary>64 KiB writes on an SslStream directly on the socket: the TLS layer's shape.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    public ValueTask Direct_64KiB_writes() => WriteAsync(_directClient!, _directProgress, _bulk, BulkCount);

    /// <summary>The same SslStream writes stacked on the plaintext layer's socket pipes.</summary>
    [Benchmark(OperationsPerInvoke = BulkCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Bulk)]
    public ValueTask Stacked_64KiB_writes() => WriteAsync(_stackedClient!, _stackedProgress, _bulk, BulkCount);

    /// <summary>256-byte writes, one TLS record each, directly on the socket.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    public ValueTask Direct_256B_write_each() => WriteAsync(_directClient!, _directProgress, _small, SmallCount);

    /// <summary>The same stacked on the socket pipes.</summary>
    [Benchmark(OperationsPerInvoke = SmallCount)]
    [BenchmarkCategory(ThroughputBenchmarks.Small)]
    public ValueTask Stacked_256B_write_each() => WriteAsync(_stackedClient!, _stackedProgress, _small, SmallCount);

    /// <inheritdoc />
    IEnumerable<ProbeWorkload> IProbeWorkloads.Workloads() =>
    [
        new(nameof(Direct_64KiB_writes), Direct_64KiB_writes, BulkCount),
        new(nameof(Stacked_64KiB_writes), Stacked_64KiB_writes, BulkCount),
        new(nameof(Direct_256B_write_each), Direct_256B_write_each, SmallCount),
        new(nameof(Stacked_256B_write_each), Stacked_256B_write_each, SmallCount),
    ];

    private static async ValueTask WriteAsync(SslStream stream, ReceiveProgress progress, byte[][] payloads, int count)
    {
        var received = progress.Expect(count * (long)payloads[0].Length);
        for (var i = 0; i < count; i++)
        {
            await stream.WriteAsync(payloads[i % payloads.Length]);
        }

        await received;
    }
}
