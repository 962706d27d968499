using System.Net;
using System.Net.Sockets;
using Broker.Transport.Sockets;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Sockets;

/// <summary>
/// The socket event args go back to a pool when a plaintext connection is disposed, and the next connection may
/// take a former sender as its receiver: what one did must not leak into the other's next operation.
/// </summary>
/// <remarks>Alone, so that no other test's connection takes the instance between its return and the next rent.</remarks>
[Collection(RunsAlone.Name)]
public class EventArgsPoolTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_event_args_that_gathered_a_send_comes_back_from_the_pool_holding_nothing_and_receives_into_one_buffer()
    {
        var ct = TestContext.Current.CancellationToken;
        var (client, server) = await ConnectPairAsync(ct);
        using var _ = client;
        using var __ = server;
        var payload = TestData.Bytes(3000, seed: 7);

        var sender = SocketAwaitableEventArgs.Rent();
        var sent = await sender.SendAsync(client, Segments.Split(payload, [1000, 1000, 1000])).AsTask().Guarded(ct);
        Assert.Equal(payload.Length, sent);
        Assert.NotNull(sender.BufferList);
        SocketAwaitableEventArgs.Return(sender);

        // The same instance (the pool hands the last one returned out first), with no list and no buffer left:
        // a list still set would make the single-buffer receive below throw, and would pin the closed
        // connection's pool blocks for as long as the instance waits in the pool.
        var receiver = SocketAwaitableEventArgs.Rent();
        try
        {
            Assert.Same(sender, receiver);
            Assert.Null(receiver.BufferList);
            Assert.Null(receiver.Buffer);
            Assert.True(receiver.MemoryBuffer.IsEmpty);

            var received = new byte[payload.Length];
            var total = 0;
            while (total < received.Length)
            {
                var n = await receiver.ReceiveAsync(server, received.AsMemory(total)).AsTask().Guarded(ct);
                Assert.True(n > 0, $"The peer closed after {total} of {received.Length} bytes.");
                total += n;
            }

            Assert.Equal(payload, received);
        }
        finally
        {
            SocketAwaitableEventArgs.Return(receiver);
        }
    }

    private static async Task<(Socket Client, Socket Server)> ConnectPairAsync(CancellationToken ct)
    {
        using var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accepting = listen.AcceptAsync(ct).AsTask();
        await client.ConnectAsync(listen.LocalEndPoint!, ct).AsTask().Guarded(ct);
        return (client, await accepting.Guarded(ct));
    }
}
