using System.Buffers;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Connections;

[Collection(RunsAlone.Name)]
public class EchoTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Frames_sent_to_an_echo_come_back_whole_and_in_order_then_the_stream_ends_cleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var echo = new EchoServer();
        await using var client = await Loopback.Connector().ConnectAsync(echo.EndPoint, ct);
        byte[][] payloads =
        [
            "plant-7/line-3/press-12/temperature"u8.ToArray(),
            [],
            [0xFF],
            TestData.Bytes(4092, seed: 1),
            TestData.Bytes(4093, seed: 2),
            TestData.Bytes(64 * 1024, seed: 3),
            TestData.Bytes(FrameFormat.DefaultMaxFrameSize, seed: 4),
            "done"u8.ToArray(),
        ];

        var receiving = ReceiveAllAsync(client, ct);
        foreach (var payload in payloads)
        {
            var flush = await client.Output.WriteFrameAsync(payload, ct);
            Assert.False(flush.IsCompleted);
        }

        await client.Output.CompleteAsync();
        var echoed = await receiving.Guarded(ct);

        Assert.Equal(payloads, echoed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Two_hundred_concurrent_connections_each_get_their_own_frames_back()
    {
        const int Connections = 200;
        const int FramesEach = 6;
        var ct = TestContext.Current.CancellationToken;
        await using var echo = new EchoServer();
        var connector = Loopback.Connector();

        async Task<int> ConverseAsync(int index)
        {
            await using var client = await connector.ConnectAsync(echo.EndPoint, ct);

            // Each connection's frames are its own (seeded by its index), so a crossed wire shows.
            var payloads = Enumerable.Range(0, FramesEach)
                .Select(i => TestData.Bytes(new Random(index * 31 + i).Next(0, 3000), seed: (index * FramesEach) + i))
                .ToArray();
            var receiving = ReceiveAllAsync(client, ct);
            foreach (var payload in payloads)
            {
                client.Output.WriteFrame(payload);
            }

            await client.Output.FlushAsync(ct);
            await client.Output.CompleteAsync();

            Assert.Equal(payloads, await receiving);
            return index;
        }

        var finished = await Task.WhenAll(Enumerable.Range(0, Connections).Select(i => Task.Run(() => ConverseAsync(i), ct))).Guarded(ct);

        Assert.Equal(Enumerable.Range(0, Connections), finished);
        Assert.Equal(Connections, echo.Accepted);
    }

    /// <summary>Reads frames until the peer ends its stream cleanly.</summary>
    private static async Task<List<byte[]>> ReceiveAllAsync(TransportConnection connection, CancellationToken cancellationToken)
    {
        var frames = connection.CreateFrameReader();
        var received = new List<byte[]>();
        while (await frames.ReadFrameAsync(cancellationToken))
        {
            received.Add(frames.Current.ToArray());
        }

        return received;
    }
}
