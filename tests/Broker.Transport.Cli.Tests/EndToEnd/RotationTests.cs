using System.Text.RegularExpressions;
using Broker.Transport.Cli.Certs;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>certs rotate while serve and send run: open connections go on untouched, new ones see the new certificates.</summary>
public sealed class RotationTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Rotating_while_send_runs_loses_nothing_and_new_connections_see_the_new_certificates()
    {
        using var pki = await Pki.IssueAsync();
        using var oldBackend = Pki.Leaf(pki.Backend);
        using var oldFrontend = Pki.Leaf(pki.Frontend);
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend, "--cert-poll-interval", "200ms");
        await using (serve)
        {
            await using var send = Tool.Start("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", pki.Frontend,
                "--cert-poll-interval", "200ms", "--duration", "300s", "--connections", "2", "--size", "512");
            await send.WaitForLineAsync("^progress: ", Tool.Timeout);

            var rotate = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir);
            Assert.True(rotate.ExitCode == 0, rotate.Transcript);
            using var newBackend = Pki.Leaf(pki.Backend);
            using var newFrontend = Pki.Leaf(pki.Frontend);
            Assert.NotEqual(Pki.Sha256(oldBackend), Pki.Sha256(newBackend));
            Assert.NotEqual(Pki.Sha256(oldFrontend), Pki.Sha256(newFrontend));

            // Both sides reload the swapped folders while the load runs.
            await serve.WaitForLineAsync($"certificate reloaded from {Regex.Escape(pki.Backend)}: CN=localhost .* sha256 {Pki.Sha256(newBackend)}", Tool.Timeout);
            await send.WaitForLineAsync($"certificate reloaded from {Regex.Escape(pki.Frontend)}: CN=frontend .* sha256 {Pki.Sha256(newFrontend)}", Tool.Timeout);

            // Ctrl+C ends the load early (its duration is only an upper bound, so that a slow machine still
            // rotates while it runs): the connections opened before the rotation went on, every byte intact.
            await Tool.InterruptAsync(send);
            Assert.True(await send.WaitForExitAsync(Tool.Timeout) == 0, send.Transcript);
            Assert.Contains("stopped by SIGINT after ", send.Errors, StringComparison.Ordinal);
            Assert.Contains($"sha256 {Pki.Sha256(oldBackend)}", send.Output, StringComparison.Ordinal);
            Assert.Contains("errors: 0", send.Output, StringComparison.Ordinal);
            Assert.Contains("echo check: every byte came back unchanged", send.Output, StringComparison.Ordinal);

            // A new connection: each side presents its new leaf.
            var after = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", pki.Frontend, "--messages", "20");
            Assert.True(after.ExitCode == 0, after.Transcript);
            Assert.Contains($"server CN=localhost [DNS:localhost, IP:127.0.0.1] sha256 {Pki.Sha256(newBackend)}", after.Output, StringComparison.Ordinal);
            await serve.WaitForLineAsync($"client CN=frontend \\[DNS:frontend\\] sha256 {Pki.Sha256(newFrontend)}", Tool.Timeout);
            Assert.DoesNotContain("refused handshake", serve.Output, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Rotating_to_a_new_root_trusts_it_first_then_swaps_the_leaves_and_a_running_serve_follows_both_steps()
    {
        using var pki = await Pki.IssueAsync();
        using var oldBackend = Pki.Leaf(pki.Backend);
        using var oldFrontend = Pki.Leaf(pki.Frontend);
        // A root handover shorter than the overlap: the new root has been trusted that long when its leaves come,
        // so they are used at once (with the default 2m, serve would hold them back until then: see HandoverTests).
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend, "--cert-poll-interval", "200ms", "--root-handover", "3s");
        await using (serve)
        {
            await using var rotating = Tool.Start("certs", "rotate", "--dir", pki.Dir, "--new-ca", "--overlap", "5s");

            // Step one: both folders hold the two-root bundle and still their old leaves, and serve reloads
            // that before any leaf from the new root exists.
            await rotating.WaitForLineAsync("^both roots trusted in ", Tool.Timeout);
            using (var frontendDuring = Pki.Leaf(pki.Frontend))
            using (var backendDuring = Pki.Leaf(pki.Backend))
            {
                Assert.Equal(Pki.Sha256(oldFrontend), Pki.Sha256(frontendDuring));
                Assert.Equal(Pki.Sha256(oldBackend), Pki.Sha256(backendDuring));
            }

            Assert.Equal(2, Pki.Roots(pki.Backend).Count);
            Assert.Equal(2, Pki.Roots(pki.Frontend).Count);
            // A reload that changes only the trust bundle says so, root by root, instead of naming the unchanged leaf.
            await serve.WaitForLineAsync(@"Broker\.Transport\.Certificates\.Trust\[112\] The trust bundle changed \(.*ca\.crt\): roots added: CN=", Tool.Timeout);
            Assert.DoesNotMatch($"certificate reloaded from .* sha256 {Pki.Sha256(oldBackend)}", serve.Output);

            // Step two: the leaves from the new root.
            Assert.True(await rotating.WaitForExitAsync(Tool.Timeout) == 0, rotating.Transcript);
            using var newBackend = Pki.Leaf(pki.Backend);
            await serve.WaitForLineAsync($"certificate reloaded from .* sha256 {Pki.Sha256(newBackend)}", Tool.Timeout);

            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", pki.Frontend, "--messages", "20");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Contains($"sha256 {Pki.Sha256(newBackend)}", send.Output, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_broken_update_is_refused_and_logged_and_serve_goes_on_with_the_last_good_certificate()
    {
        using var pki = await Pki.IssueAsync();
        using var good = Pki.Leaf(pki.Backend);
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend, "--cert-poll-interval", "200ms");
        await using (serve)
        {
            // An update whose key belongs to another certificate (the frontend's), swapped in as kubelet would.
            SecretFolderWriter.Write(pki.Backend,
            [
                new SecretFile("tls.crt", File.ReadAllText(Path.Combine(pki.Backend, "tls.crt"))),
                new SecretFile("tls.key", File.ReadAllText(Path.Combine(pki.Frontend, "tls.key")), OwnerOnly: true),
                new SecretFile("ca.crt", File.ReadAllText(Path.Combine(pki.Backend, "ca.crt"))),
            ]);

            await serve.WaitForLineAsync($"warn: .*{Regex.Escape(Path.GetFullPath(pki.Backend))}.*tls\\.key", Tool.Timeout);
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", pki.Frontend, "--messages", "10");
            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Contains($"sha256 {Pki.Sha256(good)}", send.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("certificate reloaded", serve.Output, StringComparison.Ordinal);
        }
    }
}
