using Broker.Transport.Connections;
using Broker.Transport.Sockets;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Sockets;

public class BackpressureTests
{
    private const int OutputLimit = 64 * 1024;
    private const int InputLimit = 64 * 1024;

    /// <summary>
    /// What the kernel may hold between the two pipes: the sender's socket send buffer plus the receiver's
    /// socket receive buffer. Linux autotunes both (the send buffer up to tcp_wmem's max, 4 MiB by default;
    /// the receive buffer only grows while the application reads, and ours stops), so a fixed, generous
    /// figure is used rather than a value read once at connect time.
    /// </summary>
    private const long KernelBuffers = 12L * 1024 * 1024;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_reader_that_stops_reading_bounds_what_the_writer_can_flush_and_resuming_delivers_every_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverSocket = Loopback.Patient();
        serverSocket.MaxInputBufferSize = InputLimit;
        serverSocket.MaxOutputBufferSize = OutputLimit;
        var clientSocket = Loopback.Patient();
        clientSocket.MaxInputBufferSize = InputLimit;
        clientSocket.MaxOutputBufferSize = OutputLimit;
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(serverSocket));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(clientSocket), ct);
        await using var _ = client;
        await using var __ = server;

        // Nobody reads the server's input while the client writes.
        var bound = OutputLimit + InputLimit + (2 * serverSocket.BufferSize) + KernelBuffers;
        var stall = await Backpressure.WriteUntilStalledAsync(client.Output, ct, giveUpAfter: bound);

        Assert.True(stall.PendingFlush is not null, $"The writer flushed {stall.Written} bytes to a peer that reads nothing and never had to wait.");
        Assert.InRange(stall.Written, OutputLimit, bound);

        // Reading again frees the writer and every byte arrives, in order.
        var receiving = server.Input.ReadToEndAsync(ct);
        var flushed = await stall.PendingFlush.Guarded(ct);
        Assert.False(flushed.IsCompleted);
        await client.Output.CompleteAsync();
        var received = await receiving.Guarded(ct);

        Assert.Equal(stall.Written, received.LongLength);
        Assert.Equal(-1, TestData.FirstCountingMismatch(received, 0));
    }

    [Fact]
    public void The_limits_are_validated_with_a_message_that_names_the_field()
    {
        var tooSmall = Loopback.PlaintextClient(new SocketTransportOptions { MaxOutputBufferSize = 4095 });

        var error = Assert.Throws<ArgumentException>(() => new TransportConnector(tooSmall));

        Assert.Equal("MaxOutputBufferSize is 4095; it must be at least 4096 bytes.", error.Message);
    }
}
