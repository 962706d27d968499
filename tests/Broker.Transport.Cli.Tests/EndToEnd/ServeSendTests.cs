using System.Globalization;
using System.Text.RegularExpressions;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>serve and send as processes over loopback, with the tool's own development PKI.</summary>
public sealed partial class ServeSendTests(PkiFixture fixture) : IClassFixture<PkiFixture>
{
    private Pki Pki => fixture.Pki;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Enabled_echo_sends_every_message_and_gets_every_byte_back_over_mutual_tls()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", Pki.Frontend,
                "--connections", "3", "--messages", "301", "--size", "1000");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Equal(301, send.Number("messages"));
            Assert.Equal(301, send.Number("echoed"));
            Assert.Equal(301_000, send.Number("bytes"));
            Assert.Equal(3, send.Number("connections"));
            Assert.Equal("every byte came back unchanged", send.Value("echo check"));
            Assert.Equal(0, send.Number("errors"));
            Assert.Matches(@"^\d+\.\d{3} ms$", send.Value("latency p50"));
            Assert.Matches(@"^\d+\.\d{3} ms$", send.Value("latency p99"));

            // The server's certificate, as send saw it: the backend leaf of the PKI.
            using var backend = Pki.Leaf(Pki.Backend);
            Assert.Contains($"connected 3 connection(s) to 127.0.0.1:{port}: Tls13", send.Output, StringComparison.Ordinal);
            Assert.Contains($"server CN=localhost [DNS:localhost, IP:127.0.0.1] sha256 {Pki.Sha256(backend)}", send.Output, StringComparison.Ordinal);

            // serve logged each connection with the client's certificate, and its bytes: 101 + 100 + 100 messages.
            using var frontend = Pki.Leaf(Pki.Frontend);
            await serve.WaitForLinesAsync("closed after ", 3, Tool.Timeout);
            Assert.Equal(3, Regex.Count(serve.Output, $@"connection \S+ from 127\.0\.0\.1:\d+: Tls13 \S+, client CN=frontend \[DNS:frontend\] sha256 {Pki.Sha256(frontend)}"));
            var received = ClosedLine().Matches(serve.Output).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal([100_000, 100_000, 101_000], received);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Disabled_is_plaintext_on_both_sides_and_needs_no_certificates()
    {
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled");
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--messages", "200", "--size", "64");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Contains($"connected 1 connection(s) to 127.0.0.1:{port}: plaintext", send.Output, StringComparison.Ordinal);
            Assert.Equal(200, send.Number("echoed"));
            Assert.Equal("every byte came back unchanged", send.Value("echo check"));
            await serve.WaitForLineAsync(@"connection \S+ from 127\.0\.0\.1:\d+: plaintext", Tool.Timeout);
            await serve.WaitForLineAsync(@"closed after [\d.]+ s: 12800 bytes received, 12800 bytes sent", Tool.Timeout);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Sink_mode_counts_what_arrives_and_answers_only_with_its_count()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend, "--mode", "sink");
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", Pki.Frontend,
                "--mode", "sink", "--messages", "500", "--size", "4096", "--connections", "2");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Equal(500, send.Number("messages"));
            Assert.DoesNotContain("echo check", send.Output, StringComparison.Ordinal);
            Assert.Equal("the server counted every byte sent", send.Value("sink check"));
            await serve.WaitForLinesAsync("closed after ", 2, Tool.Timeout);
            var received = ClosedLine().Matches(serve.Output).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            Assert.Equal(500 * 4096, received);
            Assert.Equal(2, Regex.Count(serve.Output, "1024000 bytes received, 8 bytes sent"));
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_sink_client_of_an_echo_server_fails_and_says_the_modes_differ()
    {
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled", "--mode", "echo");
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--mode", "sink", "--messages", "50");

            Assert.True(send.ExitCode == 1, send.Transcript);
            Assert.Contains("is it running with --mode echo? Use the same --mode on both sides.", send.Errors, StringComparison.Ordinal);
            Assert.StartsWith("FAILED", send.Value("sink check"), StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Send_with_a_duration_runs_for_that_long_and_reports_progress_plainly_when_not_on_a_terminal()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"localhost:{port}", "--cert-dir", Pki.Frontend, "--duration", "2500ms");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.True(send.Number("messages") > 0, send.Transcript);
            Assert.Equal(send.Number("messages"), send.Number("echoed"));
            Assert.True(double.Parse(send.Value("elapsed").TrimEnd(' ', 's'), CultureInfo.InvariantCulture) >= 2.5, send.Transcript);

            // Redirected output: progress is a plain line each second on stderr; no escape codes anywhere.
            Assert.Matches(@"progress: \d+\.\d s, \d+ messages", send.Errors);
            Assert.DoesNotContain("\u001b[", send.Output + send.Errors, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Allow_peer_refuses_a_client_without_that_name_and_serve_logs_why()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend, "--allow-peer", "frontend-7", "--allow-peer", "frontend-8");
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", Pki.Frontend, "--messages", "10");

            // TLS 1.3: the client's side of the handshake is done before the server checks it, so the client
            // learns it was refused on its first read.
            Assert.True(send.ExitCode == 1, send.Transcript);
            Assert.Contains("error: connection 1 ", send.Errors, StringComparison.Ordinal);
            Assert.Contains("refused this frontend", send.Errors, StringComparison.Ordinal);
            await serve.WaitForLineAsync(@"refused handshake from 127\.0\.0\.1:\d+: IdentityNotAllowed: .*CN=frontend \[DNS:frontend\].*\(frontend-7, frontend-8\)", Tool.Timeout);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_plaintext_client_of_a_tls_server_fails_with_exit_code_1_and_the_server_logs_a_plaintext_peer()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--messages", "10");

            Assert.True(send.ExitCode == 1, send.Transcript);
            Assert.Contains("speaks TLS", send.Errors, StringComparison.Ordinal);
            await serve.WaitForLineAsync(@"refused handshake from 127\.0\.0\.1:\d+: PlaintextPeer: ", Tool.Timeout);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Server_name_is_the_name_the_server_certificate_must_carry()
    {
        var (serve, port) = await Tool.ServeAsync("--cert-dir", Pki.Backend);
        await using (serve)
        {
            var named = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", Pki.Frontend, "--server-name", "localhost", "--messages", "5");
            Assert.True(named.ExitCode == 0, named.Transcript);

            var wrong = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", Pki.Frontend, "--server-name", "backend.other", "--messages", "5");
            Assert.True(wrong.ExitCode == 1, wrong.Transcript);
            Assert.Contains($"error: Cannot connect to 127.0.0.1:{port}: ", wrong.Errors, StringComparison.Ordinal);
            Assert.Contains("'backend.other'", wrong.Errors, StringComparison.Ordinal);
            Assert.Equal(string.Empty, wrong.Output);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Send_to_a_port_nobody_listens_on_fails_with_exit_code_1_and_the_reason()
    {
        // A port just released by a listener of our own: nobody listens there now.
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled");
        await Tool.TerminateAsync(serve);
        Assert.Equal(0, await serve.WaitForExitAsync(Tool.Timeout));
        await serve.DisposeAsync();

        var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled");

        Assert.True(send.ExitCode == 1, send.Transcript);
        Assert.Contains($"error: Cannot connect to 127.0.0.1:{port}:", send.Errors, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"closed after [\d.]+ s: (\d+) bytes received")]
    private static partial Regex ClosedLine();
}
