using System.Net.Security;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>The cipher suite choices the cipher suite benchmarks compare (their <c>Suite</c> parameter).</summary>
internal static class CipherSuiteChoices
{
    /// <summary>No <c>CipherSuites</c> option on either side: OpenSSL's own list, which negotiates TLS_AES_256_GCM_SHA384.</summary>
    public const string OpenSslDefault = "OpenSSL default";

    /// <summary>The values of the <c>Suite</c> parameter: OpenSSL's default, then each TLS 1.3 suite alone on both sides.</summary>
    public static IEnumerable<string> All =>
        [OpenSslDefault, nameof(TlsCipherSuite.TLS_AES_128_GCM_SHA256), nameof(TlsCipherSuite.TLS_AES_256_GCM_SHA384), nameof(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256)];

    /// <summary>The <c>CipherSuites</c> option for <paramref name="choice"/>: null for OpenSSL's default, else that suite alone.</summary>
    public static IReadOnlyList<TlsCipherSuite>? Option(string choice)
        => choice == OpenSslDefault ? null : [Enum.Parse<TlsCipherSuite>(choice)];
}

/// <summary>
/// One-way throughput of 64 KiB and 256 B frames, Enabled, one connection, per TLS 1.3 cipher suite (the
/// listener's and the connector's <c>CipherSuites</c> option set to that one suite) and with the option unset:
/// which suite moves bytes fastest on this CPU. An operation is one batch of about 4 MiB, as in
/// <see cref="FrameSizeBenchmarks"/>, whose MB/s and ns/frame columns it shares.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(FrameSizeConfig))]
public class CipherSuiteThroughputBenchmarks
{
    private PayloadSet? _set;
    private InternalIssuer? _issuer;
    private ThroughputLanes? _lanes;

    /// <summary>The suite both sides are limited to, or <see cref="CipherSuiteChoices.OpenSslDefault"/>.</summary>
    [ParamsSource(nameof(Suites))]
    public string Suite { get; set; } = CipherSuiteChoices.OpenSslDefault;

    /// <summary>The frame size (the name <see cref="BatchColumn"/> reads as <c>Payload</c>).</summary>
    [Params("64KiB", "256B")]
    public string Payload { get; set; } = "64KiB";

    /// <summary>The values of <see cref="Suite"/>.</summary>
    public static IEnumerable<string> Suites => CipherSuiteChoices.All;

    /// <summary>One encrypted pair on the suite, checked to have negotiated it.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _set = Payloads.Get(Payload);
        _issuer = TlsLoopback.StartIssuer();
        var suites = CipherSuiteChoices.Option(Suite);
        _lanes = await ThroughputLanes.OverTransportAsync(
            async () =>
            {
                var (listener, client, server) = await TlsLoopback.ConnectTransportAsync(_issuer, suites);
                if (suites is [var wanted] && client.Security.CipherSuite != wanted)
                {
                    throw new InvalidOperationException($"Asked for {wanted}, negotiated {client.Security.CipherSuite}.");
                }

                return (listener, client, server);
            },
            connections: 1);
    }

    /// <summary>Closes the connection gracefully, so a receiver that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_lanes is not null)
        {
            await _lanes.DisposeAsync();
        }

        _issuer?.Dispose();
    }

    /// <summary>This transport, mutual TLS 1.3 on the suite: <c>WriteFrame</c> and <c>FlushAsync</c> per message.</summary>
    [Benchmark]
    public ValueTask Enabled_frames() => _lanes!.SendAsync(_set!);
}

/// <summary>
/// Connect and mutual TLS 1.3 handshake (Ec256 leaves), full and resumed as in <see cref="HandshakeBenchmarks"/>,
/// per suite and with the <c>CipherSuites</c> option unset: what the key exchange and the suite cost a
/// handshake, and what setting the option costs resumption (.NET caches no TLS context for a handshake with a
/// cipher suite policy).
/// </summary>
[MemoryDiagnoser]
public class CipherSuiteHandshakeBenchmarks
{
    private StaticCertificateSource? _frontend;
    private TransportListener? _listener;
    private TransportConnector? _localhost;
    private IReadOnlyList<TlsCipherSuite>? _suites;

    /// <summary>The suite both sides are limited to, or <see cref="CipherSuiteChoices.OpenSslDefault"/>.</summary>
    [ParamsSource(nameof(Suites))]
    public string Suite { get; set; } = CipherSuiteChoices.OpenSslDefault;

    /// <summary>The values of <see cref="Suite"/>.</summary>
    public static IEnumerable<string> Suites => CipherSuiteChoices.All;

    /// <summary>The Ec256 PKI and an encrypted listener on the suite.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (backend, frontend) = TlsLoopback.SharedKeyPki(PrivateKeyAlgorithm.Ec256);
        _frontend = frontend;
        _suites = CipherSuiteChoices.Option(Suite);
        _listener = TlsLoopback.Listen(backend, _suites);
        _localhost = TlsLoopback.Connector(frontend, TlsLoopback.ServerIdentity, _suites);
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

    /// <summary>A full handshake: the backend named as never before, so the client holds no ticket for it.</summary>
    [Benchmark]
    public Task Full_handshake() => TlsLoopback.ConnectAndAbortAsync(TlsLoopback.Connector(_frontend!, TlsLoopback.FreshName(), _suites), _listener!);

    /// <summary>Always <c>localhost</c>: resumed when .NET keeps the session (the <c>handshakes</c> probe shows it on the wire).</summary>
    [Benchmark]
    public Task Resumed_handshake() => TlsLoopback.ConnectAndAbortAsync(_localhost!, _listener!);
}
