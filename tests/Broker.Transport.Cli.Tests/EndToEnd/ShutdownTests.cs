using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>SIGTERM (what Kubernetes sends): stop accepting, let open connections finish for a grace period, exit 0.</summary>
public sealed class ShutdownTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task SIGTERM_with_nothing_open_exits_0_at_once()
    {
        var (serve, _) = await Tool.ServeAsync("--encrypt", "Disabled");
        await using (serve)
        {
            await Tool.TerminateAsync(serve);

            Assert.Equal(0, await serve.WaitForExitAsync(Tool.Timeout));
            Assert.Contains("SIGTERM: stopped accepting; waiting up to 10s for 0 open connection(s)", serve.Output, StringComparison.Ordinal);
            Assert.Contains("stopped: 0 connection(s) served, 0 handshake(s) refused", serve.Output, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task SIGTERM_lets_an_open_connection_go_on_for_the_grace_period_then_closes_it_and_exits_0()
    {
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled", "--grace-period", "2s");
        await using (serve)
        {
            // A load that outlasts the grace period: it is cut when the grace period ends.
            await using var send = Tool.Start("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--duration", "60s");
            await serve.WaitForLineAsync(@"connection \S+ from 127\.0\.0\.1:\d+: plaintext", Tool.Timeout);

            await Tool.TerminateAsync(serve);

            Assert.Equal(0, await serve.WaitForExitAsync(Tool.Timeout));
            Assert.Contains("SIGTERM: stopped accepting; waiting up to 2s for 1 open connection(s)", serve.Output, StringComparison.Ordinal);
            Assert.Contains("grace period over: closing 1 connection(s) still open", serve.Output, StringComparison.Ordinal);

            // The cut load is a runtime failure for send, with its reason.
            Assert.Equal(1, await send.WaitForExitAsync(Tool.Timeout));
            Assert.Contains("error: connection 1", send.Errors, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Ctrl_C_stops_send_early_and_with_messages_left_unsent_that_is_exit_code_1()
    {
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled");
        await using (serve)
        {
            await using var send = Tool.Start("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--messages", "1000000000");
            await send.WaitForLineAsync("^progress: ", Tool.Timeout);

            await Tool.InterruptAsync(send);

            Assert.True(await send.WaitForExitAsync(Tool.Timeout) == 1, send.Transcript);
            Assert.Contains("stopped by SIGINT after ", send.Errors, StringComparison.Ordinal);
            Assert.Matches(@"error: connection 1 \(\S+\): sent \d+ of 1000000000 messages\.", send.Errors);

            // What was sent before the stop still came back and was checked.
            Assert.Contains("\necho check: every byte came back unchanged\n", send.Output, StringComparison.Ordinal);
        }
    }
}
