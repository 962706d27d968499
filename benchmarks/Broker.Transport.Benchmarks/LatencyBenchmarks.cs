using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Perfolizer.Mathematics.OutlierDetection;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>The latency table's columns: percentiles of single round trips, and the floor column.</summary>
public sealed class LatencyConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    /// <remarks>
    /// No baseline, so no Ratio column: BenchmarkDotNet's ratio of two 2,000-sample distributions takes over
    /// a minute to compute, and the Floor column already compares the medians.
    /// </remarks>
    public LatencyConfig() => AddColumn(StatisticColumn.P50, StatisticColumn.P90, StatisticColumn.P95, StatisticColumn.P100, new FloorColumn());
}

/// <summary>
/// Round-trip latency of one 256-byte frame over loopback, with encryption Enabled and Disabled: the
/// client writes and flushes a frame, the server's echo loop reads it and writes it back, the client reads
/// the echo. Every BenchmarkDotNet iteration is one round trip (whatever the job says: the attributes below
/// fix it), so the P50 and P95 columns are percentiles of single round trips, outliers kept. For reference,
/// the same 256 bytes echoed on a plain socket and on a hand-written SslStream pair (no framing, no pipes).
/// </summary>
/// <remarks>Floor: Enabled's P50 at most 10 us above Disabled's, in the same run (the Floor column).</remarks>
[MemoryDiagnoser]
[Config(typeof(LatencyConfig))]
[RunOncePerIteration]
[IterationCount(Iterations)]
[WarmupCount(200)]
[GcForce(false)]
[Outliers(OutlierMode.DontRemove)]
public class LatencyBenchmarks
{
    private const int Iterations = 2000;
    private const int Size = 256;

    private byte[] _message = [];
    private InternalIssuer? _issuer;
    private EchoPair? _enabled;
    private EchoPair? _enabledDirect;
    private EchoPair? _disabled;
    private StreamEchoPair? _socket;
    private StreamEchoPair? _sslStream;

    /// <summary>Connects once, both ways, each with an echo loop on the server side.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _message = Telemetry.FixedSize(1, Size, seed: 12)[0];
        _issuer = TlsLoopback.StartIssuer();
        _enabled = EchoPair.Start(await TlsLoopback.ConnectTransportAsync(_issuer));
        _enabledDirect = EchoPair.Start(await TlsLoopback.ConnectTransportAsync(_issuer, writeBehind: false));
        _disabled = EchoPair.Start(await LoopbackPairs.ConnectTransportAsync());
        var (client, server) = await LoopbackPairs.ConnectSocketsAsync();
        _socket = new StreamEchoPair(new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true), Size);
        var (sslClient, sslServer) = await TlsLoopback.ConnectSslStreamsAsync(_issuer);
        _sslStream = new StreamEchoPair(sslClient, sslServer, Size);
    }

    /// <summary>Closes both pairs gracefully; an echo loop that failed reports it here.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_enabled is not null)
        {
            await _enabled.DisposeAsync();
        }

        if (_enabledDirect is not null)
        {
            await _enabledDirect.DisposeAsync();
        }

        if (_disabled is not null)
        {
            await _disabled.DisposeAsync();
        }

        if (_socket is not null)
        {
            await _socket.DisposeAsync();
        }

        if (_sslStream is not null)
        {
            await _sslStream.DisposeAsync();
        }

        _issuer?.Dispose();
    }

    /// <summary>One 256-byte frame out and back, plaintext.</summary>
    [Benchmark]
    public ValueTask<bool> Disabled_256B_round_trip() => _disabled!.RoundTripAsync(_message);

    /// <summary>One 256-byte frame out and back, mutual TLS 1.3.</summary>
    [Benchmark]
    [MedianLatencyFloor(nameof(Disabled_256B_round_trip), 10)]
    public ValueTask<bool> Enabled_256B_round_trip() => _enabled!.RoundTripAsync(_message);

    /// <summary>The same with the encrypted writes sent on the encrypting thread (no <c>WriteBehindStream</c>).</summary>
    [Benchmark]
    public ValueTask<bool> Enabled_direct_writes_256B_round_trip() => _enabledDirect!.RoundTripAsync(_message);

    /// <summary>For reference: 256 bytes out and back on a plain socket (a NetworkStream each side), no framing, no pipes.</summary>
    [Benchmark]
    public ValueTask<bool> Socket_256B_round_trip() => _socket!.RoundTripAsync(_message);

    /// <summary>For reference: the same on the hand-written SslStream pair, mutual TLS 1.3 on the same leaves.</summary>
    [Benchmark]
    public ValueTask<bool> SslStream_256B_round_trip() => _sslStream!.RoundTripAsync(_message);

    /// <summary>A stream pair whose server side echoes fixed-size messages back: the hand-written reference.</summary>
    private sealed class StreamEchoPair : IAsyncDisposable
    {
        private readonly Stream _client;
        private readonly Stream _server;
        private readonly byte[] _reply;
        private readonly Task _echo;

        public StreamEchoPair(Stream client, Stream server, int size)
        {
            (_client, _server) = (client, server);
            _reply = new byte[size];
            _echo = Task.Run(() => EchoAsync(size));
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<bool> RoundTripAsync(byte[] message)
        {
            await _client.WriteAsync(message);
            await _client.ReadExactlyAsync(_reply);
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            if (_client is SslStream ssl)
            {
                await ssl.ShutdownAsync();
            }
            else
            {
                ((NetworkStream)_client).Socket.Shutdown(SocketShutdown.Send);
            }

            await _echo;
            await _client.DisposeAsync();
            await _server.DisposeAsync();
        }

        private async Task EchoAsync(int size)
        {
            var buffer = new byte[size];
            while (await _server.ReadAtLeastAsync(buffer, size, throwOnEndOfStream: false) == size)
            {
                await _server.WriteAsync(buffer);
            }
        }
    }

    /// <summary>A connection pair whose server side echoes every frame back.</summary>
    private sealed class EchoPair : IAsyncDisposable
    {
        private readonly TransportListener _listener;
        private readonly TransportConnection _client;
        private readonly TransportConnection _server;
        private readonly FrameReader _replies;
        private readonly Task _echo;

        private EchoPair((TransportListener Listener, TransportConnection Client, TransportConnection Server) pair)
        {
            (_listener, _client, _server) = pair;
            _replies = _client.CreateFrameReader();
            _echo = Task.Run(EchoAsync);
        }

        public static EchoPair Start((TransportListener, TransportConnection, TransportConnection) pair) => new(pair);

        // Pooled, so the Allocated column shows the transport's allocations, not this harness's.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<bool> RoundTripAsync(byte[] message)
        {
            var output = _client.Output;
            output.WriteFrame(message);
            await output.FlushAsync();
            return await _replies.ReadFrameAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await TlsLoopback.CloseAsync(_client, _echo, _server, _listener);
        }

        private async Task EchoAsync()
        {
            var frames = _server.CreateFrameReader();
            var output = _server.Output;
            while (await frames.ReadFrameAsync())
            {
                output.WriteFrame(frames.Current);
                await output.FlushAsync();
            }

            await output.CompleteAsync();
        }
    }
}
