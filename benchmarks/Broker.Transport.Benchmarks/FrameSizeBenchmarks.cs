using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Broker.Transport.Certificates;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// One-way throughput by frame size (64 B to 1 MiB, and a mixed spread), over one connection and four at
/// once: this transport Enabled and Disabled, next to a plain socket and the naive <c>SslStream</c> over a
/// <c>NetworkStream</c>, both writing once per message. An operation is one batch (about 4 MiB; see
/// <see cref="Payloads"/>), so Mean is per batch: the MB/s, ns/frame and Alloc/frame columns put it per byte
/// and per frame. Disabled is each group's baseline, so Enabled's Ratio is 1 + the cost of encryption.
/// </summary>
/// <remarks>
/// Each benchmark sets up only its own connections (the TLS ones on one issuer's ECDSA P-256 leaves,
/// TLS 1.3 with <c>TLS_AES_256_GCM_SHA384</c>). The report (<c>-- report</c>) runs the same batches over the
/// same connections in one process, interleaved and repeated, within three minutes.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(FrameSizeConfig))]
public class FrameSizeBenchmarks
{
    private PayloadSet? _set;
    private InternalIssuer? _issuer;
    private ThroughputLanes? _lanes;

    /// <summary>The payload size, or <c>mixed</c>.</summary>
    [ParamsSource(nameof(PayloadNames))]
    public string Payload { get; set; } = "256B";

    /// <summary>How many connections share the batch, sending at once.</summary>
    [Params(1, 4)]
    public int Connections { get; set; } = 1;

    /// <summary>The values of <see cref="Payload"/>.</summary>
    public static IEnumerable<string> PayloadNames => Payloads.Names;

    /// <summary>Connects the plain sockets.</summary>
    [GlobalSetup(Target = nameof(Socket_write_each))]
    public Task SetupSocketAsync() => SetupAsync(ThroughputPath.Socket);

    /// <summary>Connects the hand-written SslStream pairs.</summary>
    [GlobalSetup(Target = nameof(SslStream_write_each))]
    public Task SetupSslStreamAsync() => SetupAsync(ThroughputPath.SslStream);

    /// <summary>Connects the plaintext transport pairs.</summary>
    [GlobalSetup(Target = nameof(Disabled_frames))]
    public Task SetupDisabledAsync() => SetupAsync(ThroughputPath.Disabled);

    /// <summary>Connects the encrypted transport pairs.</summary>
    [GlobalSetup(Target = nameof(Enabled_frames))]
    public Task SetupEnabledAsync() => SetupAsync(ThroughputPath.Enabled);

    /// <summary>Closes the connections gracefully, so a receiver that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_lanes is not null)
        {
            await _lanes.DisposeAsync();
        }

        _issuer?.Dispose();
    }

    /// <summary>A plain socket, one <c>WriteAsync</c> per message.</summary>
    [Benchmark]
    public ValueTask Socket_write_each() => _lanes!.SendAsync(_set!);

    /// <summary>The naive SslStream over a NetworkStream, one <c>WriteAsync</c> (one TLS record, one send) per message.</summary>
    [Benchmark]
    public ValueTask SslStream_write_each() => _lanes!.SendAsync(_set!);

    /// <summary>This transport, plaintext: <c>WriteFrame</c> and <c>FlushAsync</c> per message.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask Disabled_frames() => _lanes!.SendAsync(_set!);

    /// <summary>This transport, mutual TLS 1.3: <c>WriteFrame</c> and <c>FlushAsync</c> per message.</summary>
    [Benchmark]
    public ValueTask Enabled_frames() => _lanes!.SendAsync(_set!);

    private async Task SetupAsync(ThroughputPath path)
    {
        _set = Payloads.Get(Payload);
        _issuer = TlsLoopback.StartIssuer();
        _lanes = await ThroughputLanes.OpenAsync(path, Connections, _issuer);
    }
}

/// <summary>The frame-size table's extra columns: MB/s, ns/frame, frames per batch and Alloc/frame.</summary>
public sealed class FrameSizeConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public FrameSizeConfig() => AddColumn(BatchColumn.Frames, BatchColumn.MegabytesPerSecond, BatchColumn.NanosecondsPerFrame, BatchColumn.AllocatedPerFrame);
}
