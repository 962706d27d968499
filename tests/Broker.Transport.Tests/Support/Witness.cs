using System.Buffers;
using System.Buffers.Binary;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A well-behaved frontend on its own connection to a listener under attack: it sends numbered frames of
/// mixed sizes (0 B to 70 KB) one after the other, the backend echoes each, and every echo is checked byte
/// for byte and in order. It runs the whole time a hostile peer does its worst, so a test can show the
/// listener kept serving everyone else with nothing lost or corrupted.
/// </summary>
internal sealed class Witness : IAsyncDisposable
{
    private static readonly int[] Sizes = [0, 1, 100, 4_000, 16_384, 20_000, 70_000, 7];

    private readonly TransportConnection _client;
    private readonly TransportConnection _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _echo;
    private readonly Task _pump;
    private long _verified;

    private Witness(TransportConnection client, TransportConnection server)
    {
        _client = client;
        _server = server;
        _echo = Task.Run(EchoAsync);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>How many frames made the round trip intact so far.</summary>
    public long Verified => Interlocked.Read(ref _verified);

    /// <summary>Connects a frontend with <paramref name="options"/>, takes the listener's next connection as its backend, and starts exchanging.</summary>
    public static async Task<Witness> StartAsync(TransportListener listener, TransportConnectorOptions options, CancellationToken cancellationToken)
    {
        var client = await new TransportConnector(options).ConnectAsync(listener.LocalEndPoint, cancellationToken).AsTask().WaitAsync(Refusals.HangGuard, cancellationToken);
        var server = await listener.AcceptAsync(cancellationToken).AsTask().WaitAsync(Refusals.HangGuard, cancellationToken)
            ?? throw new InvalidOperationException("The listener closed.");
        var witness = new Witness(client, server);
        await witness.AssertStillExchangingAsync(more: 8);
        return witness;
    }

    /// <summary>The payload of frame <paramref name="sequence"/>: its number first, then bytes that depend on both.</summary>
    public static byte[] Payload(long sequence)
    {
        var payload = new byte[Sizes[sequence % Sizes.Length]];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = unchecked((byte)((sequence * 31) + (i * 7)));
        }

        if (payload.Length >= 8)
        {
            BinaryPrimitives.WriteInt64BigEndian(payload, sequence);
        }

        return payload;
    }

    /// <summary>
    /// Waits, bounded by the hang guard, until <paramref name="more"/> further frames have made the round trip
    /// intact; fails at once if an exchange failed or a frame came back different.
    /// </summary>
    public async Task AssertStillExchangingAsync(int more = 50)
    {
        var target = Verified + more;
        var deadline = DateTime.UtcNow + Refusals.HangGuard;
        while (Verified < target)
        {
            if (_pump.IsCompleted)
            {
                await _pump; // throws the pump's failure
                Assert.Fail($"The witness stopped exchanging after {Verified} frames.");
            }

            Assert.True(DateTime.UtcNow < deadline, $"The witness made only {Verified} round trips of the {target} awaited.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
        }

        await _client.DisposeAsync();
        await _server.DisposeAsync();
        try
        {
            await _echo.WaitAsync(Refusals.HangGuard);
        }
        catch (Exception ex) when (ex is TransportException or OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task EchoAsync()
    {
        var frames = _server.CreateFrameReader(maxFrameSize: 128 * 1024);
        while (await frames.ReadFrameAsync(_stop.Token))
        {
            _server.Output.WriteFrame(frames.Current);
            await _server.Output.FlushAsync(_stop.Token);
        }
    }

    private async Task PumpAsync()
    {
        var frames = _client.CreateFrameReader(maxFrameSize: 128 * 1024);
        for (long sequence = 0; ; sequence++)
        {
            var payload = Payload(sequence);
            await _client.Output.WriteFrameAsync(payload, _stop.Token);
            if (!await frames.ReadFrameAsync(_stop.Token))
            {
                throw new InvalidOperationException($"The witness's backend ended the stream before echoing frame {sequence}.");
            }

            if (!frames.Current.ToArray().AsSpan().SequenceEqual(payload))
            {
                throw new InvalidOperationException($"Frame {sequence} ({payload.Length} bytes) came back as {frames.Current.Length} different bytes.");
            }

            Interlocked.Increment(ref _verified);
        }
    }
}
