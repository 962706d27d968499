using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Connections;

public class ListenerTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_listener_bound_to_port_zero_reports_the_port_it_got_and_accepts_there()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();

        Assert.Equal(IPAddress.Loopback, listener.LocalEndPoint.Address);
        Assert.NotEqual(0, listener.LocalEndPoint.Port);

        // A plain socket, told nothing but LocalEndPoint, reaches this listener.
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(listener.LocalEndPoint, ct);
        await using var server = await listener.AcceptAsync(ct).Guarded(ct);
        Assert.NotNull(server);
        Assert.Equal(raw.LocalEndPoint, server.RemoteEndPoint);
        Assert.Equal(listener.LocalEndPoint, server.LocalEndPoint);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Disposing_the_listener_keeps_accepted_connections_working_and_refuses_new_ones()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = Loopback.Listen();
        var endpoint = listener.LocalEndPoint;
        var pairs = new List<(TransportConnection Client, TransportConnection Server)>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                pairs.Add(await Loopback.ConnectAsync(listener, cancellationToken: ct));
            }

            await listener.DisposeAsync();

            Assert.Null(await listener.AcceptAsync(ct).Guarded(ct));
            var refused = await Assert.ThrowsAsync<ConnectFailedException>(async () => await Loopback.Connector().ConnectAsync(endpoint, ct).Guarded(ct));
            Assert.Contains(endpoint.ToString(), refused.Message, StringComparison.Ordinal);

            // Every accepted connection still carries frames both ways after the listener is gone.
            for (var i = 0; i < pairs.Count; i++)
            {
                var (client, server) = pairs[i];
                var request = TestData.Bytes(1000 + i, seed: i);
                await client.Output.WriteFrameAsync(request, ct);
                var serverFrames = server.CreateFrameReader();
                Assert.True(await serverFrames.ReadFrameAsync(ct).Guarded(ct));
                Assert.Equal(request, serverFrames.Current.ToArray());

                var reply = TestData.Bytes(2000 + i, seed: 100 + i);
                await server.Output.WriteFrameAsync(reply, ct);
                var clientFrames = client.CreateFrameReader();
                Assert.True(await clientFrames.ReadFrameAsync(ct).Guarded(ct));
                Assert.Equal(reply, clientFrames.Current.ToArray());
                Assert.False(server.ConnectionClosed.IsCancellationRequested);
            }
        }
        finally
        {
            await listener.DisposeAsync();
            foreach (var (client, server) in pairs)
            {
                await client.DisposeAsync();
                await server.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_accept_waiting_when_the_listener_is_disposed_returns_null()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = Loopback.Listen();
        var accepting = listener.AcceptAsync(ct).AsTask();

        await listener.DisposeAsync();

        Assert.Null(await accepting.Guarded(ct));
        Assert.Null(await listener.AcceptAsync(ct).Guarded(ct));
        await listener.DisposeAsync(); // twice is harmless
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connection_not_yet_accepted_when_the_listener_is_disposed_is_closed_not_left_hanging()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = Loopback.Listen();
        await using var client = await Loopback.Connector().ConnectAsync(listener.LocalEndPoint, ct);

        await listener.DisposeAsync();

        // Whether the listener had taken it from the kernel (closed) or not (reset), the client learns.
        var outcome = await Record.ExceptionAsync(async () => Assert.Empty(await client.Input.ReadToEndAsync(ct).Guarded(ct)));
        Assert.True(outcome is null or ConnectionResetException, $"Expected a clean end or a reset, got {outcome}");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Binding_a_port_already_in_use_fails()
    {
        await using var first = Loopback.Listen();

        var error = Assert.Throws<SocketException>(() => TransportListener.Bind(first.LocalEndPoint, Loopback.PlaintextServer()));

        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }

    [Fact]
    public void Invalid_listener_options_are_refused_with_the_field_named()
    {
        var error = Assert.Throws<ArgumentException>(() => TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, Backlog = 0 }));

        Assert.Equal("Backlog is 0; it must be at least 1.", error.Message);
    }
}
