using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Connections;

public class ConnectorTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Connecting_to_a_port_nobody_listens_on_fails_with_a_message_that_names_the_endpoint()
    {
        var ct = TestContext.Current.CancellationToken;

        // Bound but not listening: the port is ours, so nothing else can start listening on it meanwhile.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(Loopback.AnyPort);
        var endpoint = (IPEndPoint)closed.LocalEndPoint!;

        var error = await Assert.ThrowsAsync<ConnectFailedException>(async () => await Loopback.Connector().ConnectAsync(endpoint, ct).Guarded(ct));

        Assert.StartsWith($"Connecting to {endpoint} failed: ConnectionRefused", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("Is the backend listening on that port?", error.Message, StringComparison.Ordinal);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connect_that_gets_no_answer_fails_after_the_connect_timeout_on_the_injected_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        using var unanswered = Unanswered.Create();
        var clock = new FakeTimeProvider();
        var connector = new TransportConnector(new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, ConnectTimeout = TimeSpan.FromSeconds(7), Environment = new TransportEnvironment { TimeProvider = clock } });

        var connecting = connector.ConnectAsync(unanswered.EndPoint, ct).AsTask();
        clock.Advance(TimeSpan.FromSeconds(7));

        var error = await Assert.ThrowsAsync<ConnectFailedException>(() => connecting.Guarded(ct));
        Assert.Equal(
            $"Connecting to {unanswered.EndPoint} timed out after 7 s (ConnectTimeout). Is the backend reachable?",
            error.Message);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Canceling_a_connect_that_gets_no_answer_throws_operation_canceled_not_connect_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var unanswered = Unanswered.Create();
        var connector = new TransportConnector(new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, Environment = new TransportEnvironment { TimeProvider = new FakeTimeProvider() } });
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var connecting = connector.ConnectAsync(unanswered.EndPoint, cancel.Token).AsTask();
        await cancel.CancelAsync();

        // Not ConnectFailedException (which does not derive from OperationCanceledException): the caller
        // asked for this, and the exception carries the caller's token.
        var canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting.Guarded(ct));
        Assert.Equal(cancel.Token, canceled.CancellationToken);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Canceling_a_TLS_handshake_that_gets_no_answer_throws_operation_canceled_with_the_callers_token()
    {
        var ct = TestContext.Current.CancellationToken;
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen();
        var connector = new TransportConnector(Loopback.TlsClient(TestPki.Create()));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // The TCP connect succeeds (the backlog takes it); the ClientHello is never answered.
        var connecting = connector.ConnectAsync(silent.LocalEndPoint!, cancel.Token).AsTask();
        using var accepted = await silent.AcceptAsync(ct);
        await cancel.CancelAsync();

        var canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting.Guarded(ct));
        Assert.Equal(cancel.Token, canceled.CancellationToken);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connect_with_an_already_canceled_token_throws_operation_canceled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await Loopback.Connector().ConnectAsync(listener.LocalEndPoint, new CancellationToken(canceled: true)).Guarded(ct));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_connection_knows_both_of_its_endpoints()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        Assert.Equal(listener.LocalEndPoint, client.RemoteEndPoint);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        Assert.Equal(server.LocalEndPoint, client.RemoteEndPoint);
        Assert.NotEqual(client.ConnectionId, server.ConnectionId);
    }

    [Theory]
    [InlineData(0, "ConnectTimeout is 00:00:00; it must be positive (or Timeout.InfiniteTimeSpan).")]
    [InlineData(-5, "ConnectTimeout is -00:00:05; it must be positive (or Timeout.InfiniteTimeSpan).")]
    public void A_connect_timeout_that_is_not_positive_is_refused(int seconds, string message)
    {
        var options = new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, ConnectTimeout = TimeSpan.FromSeconds(seconds) };

        Assert.Equal(message, Assert.Throws<ArgumentException>(() => new TransportConnector(options)).Message);
    }
}
