using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Connection setup with encryption Enabled, per leaf key algorithm, next to a plaintext connect in the
/// same group: connect, the full mutual TLS 1.3 handshake on both sides, then abort both ends. The full handshake names the backend differently
/// at every connect, so the client holds no session ticket for it; the resumed one always says
/// <c>localhost</c>, and resumes (the <c>handshakes</c> probe shows both on the wire).
/// </summary>
/// <remarks>
/// The plaintext baseline runs once per algorithm so each group's Ratio compares measurements made next to
/// each other. One key of the algorithm serves the root and both leaves (<see cref="TlsLoopback.SharedKeyPki"/>):
/// the handshake does the same work as with three. Rsa8192 has its own class without a long repeat
/// (<see cref="Rsa8192HandshakeBenchmarks"/>): its key takes 20-35 s to make here.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(HandshakeConfig))]
public class HandshakeBenchmarks : HandshakeBenchmarksBase
{
    /// <summary>The leaves' (and root's) key algorithm.</summary>
    [Params(PrivateKeyAlgorithm.Ec256, PrivateKeyAlgorithm.Rsa2048, PrivateKeyAlgorithm.Ec384, PrivateKeyAlgorithm.Ec521, PrivateKeyAlgorithm.Rsa4096)]
    public PrivateKeyAlgorithm Leaf { get; set; }

    /// <inheritdoc />
    protected override PrivateKeyAlgorithm Algorithm => Leaf;
}

/// <summary>
/// The handshake workloads for one leaf algorithm: a plaintext connect (the baseline), a full mutual
/// handshake and a resumed one, each followed by an abort of both ends.
/// </summary>
public abstract class HandshakeBenchmarksBase
{
    // One PKI per algorithm for the whole process: RSA keys take seconds to make (RSA-8192 half a minute),
    // and an in-process run (CI's dry run) would otherwise make them again for every benchmark.
    private static readonly ConcurrentDictionary<PrivateKeyAlgorithm, (StaticCertificateSource Backend, StaticCertificateSource Frontend)> Pkis = new();

    private StaticCertificateSource? _frontend;
    private TransportListener? _listener;
    private TransportConnector? _connector;

    /// <summary>The leaves' (and root's) key algorithm.</summary>
    protected abstract PrivateKeyAlgorithm Algorithm { get; }

    /// <summary>Binds the plaintext listener.</summary>
    [GlobalSetup(Target = nameof(Disabled_connect))]
    public void SetupPlaintext()
    {
        _listener = LoopbackPairs.ListenPlaintext();
        _connector = LoopbackPairs.PlaintextConnector();
    }

    /// <summary>Makes the certificates for <see cref="Algorithm"/> (once per process) and binds an encrypted listener.</summary>
    [GlobalSetup(Targets = [nameof(Enabled_full_handshake), nameof(Enabled_resumed_handshake)])]
    public void SetupEncrypted()
    {
        var (backend, frontend) = Pkis.GetOrAdd(Algorithm, TlsLoopback.SharedKeyPki);
        _frontend = frontend;
        _listener = TlsLoopback.Listen(backend);
        _connector = TlsLoopback.Connector(frontend);
    }

    /// <summary>Unbinds.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
    }

    /// <summary>A plaintext connect and accept.</summary>
    [Benchmark(Baseline = true)]
    public Task Disabled_connect() => ConnectAsync(_connector!);

    /// <summary>A connect with a full mutual handshake: certificates both ways, a signature from each side.</summary>
    [Benchmark]
    public Task Enabled_full_handshake() => ConnectAsync(TlsLoopback.Connector(_frontend!, TlsLoopback.FreshName()));

    /// <summary>A connect whose handshake resumes the session of an earlier one (a TLS 1.3 ticket: no certificates, no signatures).</summary>
    [Benchmark]
    public Task Enabled_resumed_handshake() => ConnectAsync(_connector!);

    private Task ConnectAsync(TransportConnector connector) => TlsLoopback.ConnectAndAbortAsync(connector, _listener!);
}

/// <summary>Adds the rate column to the handshake benchmarks.</summary>
public sealed class HandshakeConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public HandshakeConfig() => AddColumn(new RateColumn());
}

/// <summary>Operations per second, from the median time per operation: connections (with their handshakes) per second.</summary>
internal sealed class RateColumn : IColumn
{
    public string Id => nameof(RateColumn);

    public string ColumnName => "Per second";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Operations per second on one connector, from the median time per operation";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        => summary[benchmarkCase]?.ResultStatistics?.Median is double median and > 0
            ? (1e9 / median).ToString("N0", CultureInfo.InvariantCulture)
            : "?";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
