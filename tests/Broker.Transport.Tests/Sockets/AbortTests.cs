using System.Buffers;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Sockets;

public class AbortTests
{
    private const string Reason = "Draining plant-7: the frontend moves to another backend.";

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Abort_fails_local_reads_and_flushes_with_the_reason_and_resets_the_peer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        var pendingRead = client.Input.ReadAsync(ct).AsTask();

        client.Abort(Reason);

        var readError = await Assert.ThrowsAsync<ConnectionAbortedException>(() => pendingRead.Guarded(ct));
        Assert.Equal(Reason, readError.Message);

        // The peer learns at once, as a typed reset, not as a clean end and not as a hang.
        var peerError = await Assert.ThrowsAsync<ConnectionResetException>(() => server.Input.ReadToEndAsync(ct).Guarded(ct));
        Assert.Contains("reset the connection", peerError.Message, StringComparison.Ordinal);

        await client.ConnectionClosed.WhenCanceled().Guarded(ct);
        await server.ConnectionClosed.WhenCanceled().Guarded(ct);

        // Once closed, every later read and flush here fails with the same reason.
        var laterRead = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Input.ReadAsync(ct));
        Assert.Equal(Reason, laterRead.Message);
        client.Output.Write("too late"u8);
        var laterFlush = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Output.FlushAsync(ct));
        Assert.Equal(Reason, laterFlush.Message);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Right_after_abort_a_read_fails_even_with_bytes_buffered_and_a_flush_fails_instead_of_dropping_its_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;
        await server.Output.WriteAsync("buffered"u8.ToArray(), ct);
        var buffered = await client.Input.ReadAsync(ct).Guarded(ct);
        Assert.Equal("buffered"u8.ToArray(), buffered.Buffer.ToArray());
        client.Input.AdvanceTo(buffered.Buffer.Start); // nothing consumed: the bytes stay readable

        client.Abort(Reason);

        // No waiting for the pumps to notice: the very next calls fail. (Before the fix, most such reads
        // returned the buffered bytes and most such flushes reported success for bytes that were dropped.)
        Assert.Equal(Reason, Assert.Throws<ConnectionAbortedException>(() => client.Input.TryRead(out var unread)).Message);
        Assert.Equal(Reason, (await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Input.ReadAsync(ct))).Message);
        client.Output.Write("dropped"u8);
        Assert.Equal(Reason, (await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Output.FlushAsync(ct))).Message);
        Assert.Equal(Reason, (await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Output.WriteAsync(new byte[] { 1 }, ct))).Message);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Abort_fails_a_flush_that_waits_for_a_peer_that_does_not_read()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(Small()));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(Small()), ct);
        await using var _ = client;
        await using var __ = server;
        var stalled = await Backpressure.WriteUntilStalledAsync(client.Output, ct);
        Assert.NotNull(stalled.PendingFlush);

        client.Abort(Reason);

        var error = await Assert.ThrowsAsync<ConnectionAbortedException>(() => stalled.PendingFlush.Guarded(ct));
        Assert.Equal(Reason, error.Message);
        await Assert.ThrowsAsync<ConnectionResetException>(() => server.Input.ReadToEndAsync(ct).Guarded(ct));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_peer_of_an_aborted_connection_sees_its_waiting_flush_fail_with_a_reset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen(Loopback.PlaintextServer(Small()));
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.PlaintextClient(Small()), ct);
        await using var _ = client;
        await using var __ = server;
        var stalled = await Backpressure.WriteUntilStalledAsync(server.Output, ct);
        Assert.NotNull(stalled.PendingFlush);

        client.Abort(Reason);

        var error = await Assert.ThrowsAsync<ConnectionResetException>(() => stalled.PendingFlush.Guarded(ct));
        Assert.Contains(client.LocalEndPoint.ToString()!, error.Message, StringComparison.Ordinal);
        await server.ConnectionClosed.WhenCanceled().Guarded(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Abort_after_abort_keeps_the_first_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        client.Abort(Reason);
        client.Abort("a second reason");

        var error = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await client.Input.ReadAsync(ct).Guarded(ct));
        Assert.Equal(Reason, error.Message);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Abort_needs_a_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        Assert.Throws<ArgumentException>(() => client.Abort(string.Empty));
        Assert.Throws<ArgumentNullException>(() => client.Abort(null!));
    }

    private static SocketTransportOptions Small() => Loopback.Patient(maxBufferSize: 64 * 1024);
}
