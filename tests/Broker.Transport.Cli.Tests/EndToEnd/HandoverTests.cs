using System.Text.RegularExpressions;
using Broker.Transport.Cli.Certs;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>
/// serve with its trust bundle in a folder of its own (a mounted ConfigMap) and its Secret switched to another CA
/// abruptly (leaf and ca.crt together, and the bundle too), as a CA re-key would: the root handover keeps serving a
/// frontend that has not reloaded, then switches, then retires the old root, each step a line of its own.
/// </summary>
public sealed class HandoverTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_abrupt_CA_switch_is_handed_over_a_frontend_that_has_not_reloaded_is_served_until_the_switch()
    {
        using var a = await Pki.IssueAsync();
        await Task.Delay(1100, TestContext.Current.CancellationToken); // the CA's name carries the second it was made
        using var b = await Pki.IssueAsync();
        using var aBackend = Pki.Leaf(a.Backend);
        using var bBackend = Pki.Leaf(b.Backend);
        var trust = a.Temp["trust"];
        SecretFolderWriter.Write(trust, [new SecretFile("ca.crt", File.ReadAllText(Path.Combine(a.Ca, "ca.crt")))]);
        var (serve, port) = await Tool.ServeAsync("--cert-dir", a.Backend, "--trust-bundle", trust, "--cert-poll-interval", "200ms", "--root-handover", "6s");
        await using (serve)
        {
            // CA b replaces CA a at once: the backend's Secret (its leaf and ca.crt), then the bundle.
            SecretFolderWriter.Write(a.Backend, [.. new[] { "tls.crt", "tls.key", "ca.crt" }.Select(n => new SecretFile(n, File.ReadAllText(Path.Combine(b.Backend, n)), OwnerOnly: n == "tls.key"))]);
            SecretFolderWriter.Write(trust, [new SecretFile("ca.crt", File.ReadAllText(Path.Combine(b.Ca, "ca.crt")))]);
            await serve.WaitForLineAsync($@"Trust\[113\] Root handover in {Regex.Escape(Path.GetFullPath(a.Backend))}: the new certificate", Tool.Timeout);

            // A frontend of CA a that has not reloaded: still served, by the backend's old leaf.
            var stale = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", a.Frontend, "--messages", "10");
            Assert.True(stale.ExitCode == 0, stale.Transcript);
            Assert.Contains($"sha256 {Pki.Sha256(aBackend)}", stale.Output, StringComparison.Ordinal);

            // The switch, then the old root out, each logged; the certificate reload line names the new leaf.
            await serve.WaitForLineAsync(@"Trust\[114\] Root handover in .*: the certificate .* is in use now", Tool.Timeout);
            await serve.WaitForLineAsync($"certificate reloaded from .* sha256 {Pki.Sha256(bBackend)}", Tool.Timeout);
            var moved = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", b.Frontend, "--messages", "10");
            Assert.True(moved.ExitCode == 0, moved.Transcript);
            Assert.Contains($"sha256 {Pki.Sha256(bBackend)}", moved.Output, StringComparison.Ordinal);
            await serve.WaitForLineAsync(@"Trust\[115\] .* left the trust bundle, RootHandover \(00:00:06\) after this side stopped using them.* The root handover is over\.", Tool.Timeout);
            Assert.DoesNotContain("refused handshake", serve.Output, StringComparison.Ordinal);
        }
    }
}
