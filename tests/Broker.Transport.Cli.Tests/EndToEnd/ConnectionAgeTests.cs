using System.Net.Sockets;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary><c>serve --max-connection-age</c>: a connection is asked to drain once it is that old, and closed by the transport --drain-grace later.</summary>
public sealed class ConnectionAgeTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_echo_connection_older_than_max_connection_age_is_drained_then_closed_cleanly_after_the_grace()
    {
        var ct = TestContext.Current.CancellationToken;
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled", "--max-connection-age", "2s", "--drain-grace", "1s");
        await using (serve)
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, ct).AsTask().WaitAsync(Tool.Timeout, ct);
            var stream = client.GetStream();
            await stream.WriteAsync("hello"u8.ToArray(), ct);
            var echo = new byte[5];
            await stream.ReadExactlyAsync(echo, ct).AsTask().WaitAsync(Tool.Timeout, ct);
            Assert.Equal("hello"u8.ToArray(), echo);

            // At 2 s (plus or minus 10 %) the connection is asked to drain; 1 s later the transport closes it: a clean end
            // of the stream after everything echoed (a FIN, not a reset), and the echo still works while it drains.
            await serve.WaitForLineAsync(@"connection \S+ asked to drain \(MaxConnectionAge\); the transport closes it at ", Tool.Timeout);
            await stream.WriteAsync("again"u8.ToArray(), ct);
            await stream.ReadExactlyAsync(echo, ct).AsTask().WaitAsync(Tool.Timeout, ct);
            Assert.Equal("again"u8.ToArray(), echo);
            var end = await stream.ReadAsync(new byte[16], ct).AsTask().WaitAsync(Tool.Timeout, ct);
            Assert.Equal(0, end);
            client.Client.Shutdown(SocketShutdown.Send);
            await serve.WaitForLineAsync(@"connection \S+ closed after \d+\.\d+ s: 10 bytes received, 10 bytes sent", Tool.Timeout);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_zero_max_connection_age_is_refused_as_a_usage_error()
    {
        var result = await Tool.RunAsync("serve", "--encrypt", "Disabled", "--max-connection-age", "0s");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--max-connection-age: '0s' must be positive.", result.Errors, StringComparison.Ordinal);
    }
}
