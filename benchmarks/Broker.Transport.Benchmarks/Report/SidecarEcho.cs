using System.Runtime.CompilerServices;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// The ping-pong of <see cref="LatencyBenchmarks"/> through the sidecar pair: the frontend writes and flushes a
/// 256-byte frame (the same payload), the backend's echo loop writes it back, the frontend reads the echo; both
/// ends are this transport in plaintext, and the pair's stunnels encrypt in between.
/// </summary>
internal sealed class SidecarEcho : IAsyncDisposable
{
    private readonly InternalIssuer _issuer;
    private readonly SidecarLoopback _sidecar;
    private readonly TransportConnection _client;
    private readonly TransportConnection _server;
    private readonly FrameReader _replies;
    private readonly Task _echo;
    private readonly byte[] _message = Telemetry.FixedSize(1, 256, seed: 12)[0];

    private SidecarEcho(InternalIssuer issuer, SidecarLoopback sidecar, TransportConnection client, TransportConnection server)
    {
        (_issuer, _sidecar, _client, _server) = (issuer, sidecar, client, server);
        _replies = client.CreateFrameReader();
        _echo = Task.Run(EchoAsync);
    }

    /// <summary>An issuer of its own (as <see cref="LatencyBenchmarks"/> has), the pair on its leaves, one connection through it.</summary>
    public static async Task<SidecarEcho> StartAsync(string stunnel)
    {
        var issuer = TlsLoopback.StartIssuer();
        SidecarLoopback? sidecar = null;
        try
        {
            sidecar = await SidecarLoopback.StartMatchingEnabledAsync(stunnel, issuer);
            var (client, server) = await sidecar.ConnectAsync();
            return new SidecarEcho(issuer, sidecar, client, server);
        }
        catch
        {
            if (sidecar is not null)
            {
                await sidecar.DisposeAsync();
            }

            issuer.Dispose();
            throw;
        }
    }

    /// <summary>One 256-byte frame out and back; false if the echo ended first.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RoundTripAsync()
    {
        var output = _client.Output;
        output.WriteFrame(_message);
        await output.FlushAsync();
        return await _replies.ReadFrameAsync();
    }

    /// <summary>Half-closes, waits for the echo to end, then stops the pair.</summary>
    public async ValueTask DisposeAsync()
    {
        await TlsLoopback.CloseAsync(_client, _echo, _server, null);
        await _sidecar.DisposeAsync();
        _issuer.Dispose();
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
