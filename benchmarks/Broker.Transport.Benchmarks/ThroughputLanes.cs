using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>The four ways the frame-size workloads move bytes.</summary>
public enum ThroughputPath
{
    /// <summary>A plain socket (a <see cref="NetworkStream"/>), one write per message: the floor of what any plaintext path costs.</summary>
    Socket,

    /// <summary>The naive encrypted baseline: an <see cref="SslStream"/> over a <see cref="NetworkStream"/>, one write per message.</summary>
    SslStream,

    /// <summary>This transport, <see cref="Security.EncryptInternalTraffic.Disabled"/>: one frame and one flush per message.</summary>
    Disabled,

    /// <summary>This transport, <see cref="Security.EncryptInternalTraffic.Enabled"/> (mutual TLS 1.3): one frame and one flush per message.</summary>
    Enabled,

    /// <summary>
    /// The report's sidecar pair (<see cref="SidecarLoopback"/>): this transport Disabled at both ends, through two
    /// stunnel processes speaking mutual TLS 1.3 to each other; opened with <see cref="ThroughputLanes.OverSidecarAsync"/>.
    /// </summary>
    Sidecar,
}

/// <summary>
/// One or several loopback connections of one <see cref="ThroughputPath"/>, each drained by a background
/// receiver that counts payload bytes. <see cref="SendAsync"/> spreads a batch over the connections (message
/// <c>i</c> on connection <c>i % n</c>, all connections sending at once) and ends when every receiver has
/// counted its share, so a receiver that got more bytes than were sent, or failed, fails the operation.
/// </summary>
internal sealed class ThroughputLanes : IAsyncDisposable
{
    private const int ReadBufferSize = 64 * 1024;
    private readonly Lane[] _lanes;

    private ThroughputLanes(Lane[] lanes) => _lanes = lanes;

    /// <summary>Connects <paramref name="connections"/> pairs; the encrypted ones use <paramref name="issuer"/>'s leaves.</summary>
    public static async Task<ThroughputLanes> OpenAsync(ThroughputPath path, int connections, InternalIssuer issuer)
    {
        var lanes = new Lane[connections];
        for (var i = 0; i < connections; i++)
        {
            lanes[i] = path switch
            {
                ThroughputPath.Socket => await StreamLane.SocketAsync(),
                ThroughputPath.SslStream => await StreamLane.SslAsync(issuer),
                ThroughputPath.Disabled => new TransportLane(await LoopbackPairs.ConnectTransportAsync()),
                ThroughputPath.Enabled => new TransportLane(await TlsLoopback.ConnectTransportAsync(issuer)),
                _ => throw new ArgumentOutOfRangeException(nameof(path), path, "The sidecar pair's lanes open with OverSidecarAsync."),
            };
        }

        return new ThroughputLanes(lanes);
    }

    /// <summary>Connects <paramref name="connections"/> pairs through <paramref name="sidecar"/>, one after another; the sidecar outlives them.</summary>
    public static Task<ThroughputLanes> OverSidecarAsync(SidecarLoopback sidecar, int connections)
        => OverTransportAsync(async () =>
        {
            var (client, server) = await sidecar.ConnectAsync();
            return (null, client, server);
        }, connections);

    /// <summary>
    /// <paramref name="connections"/> transport pairs from <paramref name="connect"/>, one after another, each
    /// disposed with the listener it came with (null: a listener someone else disposes).
    /// </summary>
    public static async Task<ThroughputLanes> OverTransportAsync(Func<Task<(TransportListener? Listener, TransportConnection Client, TransportConnection Server)>> connect, int connections)
    {
        var lanes = new Lane[connections];
        for (var i = 0; i < connections; i++)
        {
            lanes[i] = new TransportLane(await connect());
        }

        return new ThroughputLanes(lanes);
    }

    /// <summary>Sends <paramref name="set"/>'s batch and waits until the receivers have it all.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(PayloadSet set)
    {
        if (_lanes.Length == 1)
        {
            await _lanes[0].SendAsync(set.Batch, 0, 1);
            return;
        }

        // Each connection sends from its own thread, as separate frontends would; this costs the harness a
        // few small allocations per batch (the Task.Run calls), which the several-connection rows include.
        var sending = new Task[_lanes.Length];
        for (var i = 0; i < _lanes.Length; i++)
        {
            var (lane, first) = (_lanes[i], i);
            sending[i] = Task.Run(() => lane.SendAsync(set.Batch, first, _lanes.Length).AsTask());
        }

        await Task.WhenAll(sending);
    }

    /// <summary>Closes every connection gracefully; a receiver that failed throws here.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var lane in _lanes)
        {
            await lane.DisposeAsync();
        }
    }

    private abstract class Lane : IAsyncDisposable
    {
        protected ReceiveProgress Progress { get; } = new();

        protected Task Receiver { get; set; } = Task.CompletedTask;

        // Pooled, so the Allocated column shows the path's allocations, not this harness's.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        public async ValueTask SendAsync(byte[][] batch, int first, int step)
        {
            var bytes = 0L;
            for (var i = first; i < batch.Length; i += step)
            {
                bytes += batch[i].Length;
            }

            var received = Progress.Expect(bytes);
            for (var i = first; i < batch.Length; i += step)
            {
                await WriteAsync(batch[i]);
            }

            await received;
        }

        public abstract ValueTask DisposeAsync();

        protected abstract ValueTask WriteAsync(byte[] message);
    }

    /// <summary>A plain socket or an SslStream pair: one <c>WriteAsync</c> per message.</summary>
    private sealed class StreamLane : Lane
    {
        private readonly Stream _client;
        private readonly Stream _server;

        private StreamLane(Stream client, Stream server)
        {
            (_client, _server) = (client, server);
            Receiver = Task.Run(() => TlsLoopback.DrainStreamAsync(server, Progress, ReadBufferSize));
        }

        public static async Task<Lane> SocketAsync()
        {
            var (client, server) = await LoopbackPairs.ConnectSocketsAsync();
            return new StreamLane(new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
        }

        public static async Task<Lane> SslAsync(InternalIssuer issuer)
        {
            var (client, server) = await TlsLoopback.ConnectSslStreamsAsync(issuer);
            return new StreamLane(client, server);
        }

        public override async ValueTask DisposeAsync()
        {
            if (_client is SslStream ssl)
            {
                await TlsLoopback.CloseAsync(ssl, Receiver, (SslStream)_server);
                return;
            }

            ((NetworkStream)_client).Socket.Shutdown(SocketShutdown.Send);
            await Receiver;
            await _client.DisposeAsync();
            await _server.DisposeAsync();
        }

        protected override ValueTask WriteAsync(byte[] message) => _client.WriteAsync(message);
    }

    /// <summary>A transport pair: one frame and one flush per message, read with a <see cref="FrameReader"/>.</summary>
    private sealed class TransportLane : Lane
    {
        private readonly TransportListener? _listener;
        private readonly TransportConnection _client;
        private readonly TransportConnection _server;

        /// <summary>A pair and the listener it came from, disposed with it (null: the listener is someone else's).</summary>
        public TransportLane((TransportListener? Listener, TransportConnection Client, TransportConnection Server) pair)
        {
            (_listener, _client, _server) = pair;
            Receiver = Task.Run(() => LoopbackPairs.DrainFramesAsync(_server, Progress, FrameFormat.DefaultMaxFrameSize));
        }

        public override ValueTask DisposeAsync() => new(TlsLoopback.CloseAsync(_client, Receiver, _server, _listener));

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        protected override async ValueTask WriteAsync(byte[] message)
        {
            var output = _client.Output;
            output.WriteFrame(message);
            await output.FlushAsync();
        }
    }
}
