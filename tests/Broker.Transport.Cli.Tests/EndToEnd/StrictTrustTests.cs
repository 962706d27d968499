using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>The trust rules as the tool shows them: a retired root, refused peers, escaped log lines, private files.</summary>
public sealed class StrictTrustTests
{
    [Fact(Timeout = 180_000)]
    public async Task Rotate_new_ca_retires_the_old_root_and_a_client_with_a_leaf_from_it_is_refused_then_and_after_a_later_rotate()
    {
        using var pki = await Pki.IssueAsync();
        using var oldRoot = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(pki.Ca, "ca.crt")));

        // A frontend that keeps its leaf from the old root (a pod that never reloaded, or a copied key).
        var stale = pki.Temp["stale-frontend"];
        Directory.CreateDirectory(stale);
        File.Copy(Path.Combine(pki.Frontend, "tls.crt"), Path.Combine(stale, "tls.crt"));
        File.Copy(Path.Combine(pki.Frontend, "tls.key"), Path.Combine(stale, "tls.key"));

        var rotate = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir, "--new-ca", "--overlap", "1s");
        Assert.True(rotate.ExitCode == 0, rotate.Transcript);
        Assert.Contains("both roots trusted in ", rotate.Output, StringComparison.Ordinal);
        Assert.Contains("the old root left ", rotate.Output, StringComparison.Ordinal);
        foreach (var folder in new[] { pki.Backend, pki.Frontend })
        {
            var root = Assert.Single(Pki.Roots(folder));
            Assert.NotEqual(oldRoot.RawData, root.RawData);
        }

        // The stale frontend trusts the new root (so it accepts the backend) and its own old one (so its own set
        // loads), but its leaf is from the old root, which the backend no longer trusts.
        File.WriteAllText(Path.Combine(stale, "ca.crt"), File.ReadAllText(Path.Combine(pki.Frontend, "ca.crt")) + oldRoot.ExportCertificatePem() + "\n");
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend);
        await using (serve)
        {
            var refused = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", stale, "--messages", "10");
            Assert.True(refused.ExitCode == 1, refused.Transcript);
            await serve.WaitForLineAsync(@"refused handshake from 127\.0\.0\.1:\d+: UntrustedChain: The frontend's certificate CN=frontend, issued by CN=broker-transport development CA", Tool.Timeout);

            var current = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", pki.Frontend, "--messages", "10");
            Assert.True(current.ExitCode == 0, current.Transcript);
        }

        // A later leaf rotation finds one root and keeps one.
        var again = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir);
        Assert.True(again.ExitCode == 0, again.Transcript);
        Assert.Single(Pki.Roots(pki.Backend));
        Assert.Single(Pki.Roots(pki.Frontend));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_frontend_with_the_backends_certificate_is_refused_and_sends_summary_names_the_refusal_as_the_cause()
    {
        using var pki = await Pki.IssueAsync();

        // The backend's Secret given to a frontend: a leaf with server authentication only.
        var wrongRole = pki.Temp["wrong-role"];
        Directory.CreateDirectory(wrongRole);
        foreach (var name in new[] { "tls.crt", "tls.key", "ca.crt" })
        {
            File.Copy(Path.Combine(pki.Backend, name), Path.Combine(wrongRole, name));
        }

        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--cert-dir", wrongRole, "--messages", "10");

            Assert.True(send.ExitCode == 1, send.Transcript);
            Assert.StartsWith("FAILED: 0 of ", send.Value("echo check"), StringComparison.Ordinal);
            Assert.Contains("messages came back intact; the backend refused the connection after it was set up: refused (RejectedByPeer): ", send.Value("echo check"), StringComparison.Ordinal);
            await serve.WaitForLineAsync(@"refused handshake from 127\.0\.0\.1:\d+: WrongKeyUsage: .*lacks the extended key usage its role needs \(client authentication", Tool.Timeout);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_mode_mismatch_after_connected_is_named_as_the_cause_in_sends_summary()
    {
        // A plaintext frontend of a TLS backend is connected at once; the backend's alert arrives as its first bytes.
        using var pki = await Pki.IssueAsync();
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--messages", "10", "--mode", "sink");

            Assert.True(send.ExitCode == 1, send.Transcript);
            Assert.StartsWith("FAILED; the backend refused the connection after it was set up: refused (TlsPeer): ", send.Value("sink check"), StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Encrypt_Disabled_on_the_command_line_warns_as_a_Disabled_config_file_does()
    {
        var (serve, port) = await Tool.ServeAsync("--encrypt", "Disabled");
        await using (serve)
        {
            await serve.WaitForLineAsync("^warning: --encrypt is Disabled: internal traffic between frontend and backend travels in plaintext", Tool.Timeout);
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--encrypt", "Disabled", "--messages", "10");
            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Contains("warning: --encrypt is Disabled: internal traffic between frontend and backend travels in plaintext. Keep it Enabled outside controlled, non-production test environments.", send.Errors, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_client_whose_name_holds_terminal_escapes_shows_them_escaped_in_serves_refusal_line()
    {
        using var pki = await Pki.IssueAsync();
        var folder = pki.Temp["evil"];
        Directory.CreateDirectory(folder);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName("frontend\u001b[2K\r12:00:00 info: all good");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "tls.crt"), self.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "tls.key"), key.ExportPkcs8PrivateKeyPem());

        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend);
        await using (serve)
        {
            await using var client = ChildProcess.Start("openssl",
            [
                "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_3", "-cert", Path.Combine(folder, "tls.crt"), "-key", Path.Combine(folder, "tls.key"),
                "-CAfile", Path.Combine(pki.Frontend, "ca.crt"), "-servername", "localhost", "-quiet",
            ]);
            var line = await serve.WaitForLineAsync("refused handshake from .*UntrustedChain.*$", Tool.Timeout);

            Assert.True(line.Value.Contains(@"The frontend's certificate CN=frontend\x1b[2K\x0d12:00:00 info: all good, issued by", StringComparison.Ordinal), serve.Output);
            Assert.DoesNotContain('\u001b', serve.Output);
            Assert.DoesNotContain('\r', serve.Output);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Certs_issue_and_rotate_make_private_folders_and_keys_whatever_the_umask()
    {
        using var temp = new TempFolder();
        var dir = temp["pki"];
        var issue = await Tool.RunUnderUmaskAsync("000", "certs", "issue", "--out", dir);
        Assert.True(issue.ExitCode == 0, issue.Transcript);
        AssertModes(dir);

        var rotate = await Tool.RunUnderUmaskAsync("000", "certs", "rotate", "--dir", dir, "--new-ca", "--overlap", "10ms");
        Assert.True(rotate.ExitCode == 0, rotate.Transcript);
        AssertModes(dir);

        static void AssertModes(string dir)
        {
            const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            const UnixFileMode GroupReads = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
            const UnixFileMode Key = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            const UnixFileMode Certificate = Key | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(Path.Combine(dir, "ca")));
            Assert.Equal(Key, File.GetUnixFileMode(Path.Combine(dir, "ca", "ca.key")));
            Assert.Equal(Certificate, File.GetUnixFileMode(Path.Combine(dir, "ca", "ca.crt")));
            foreach (var side in new[] { "backend", "frontend" })
            {
                var folder = Path.Combine(dir, side);
                var data = Path.Combine(folder, new DirectoryInfo(Path.Combine(folder, "..data")).LinkTarget!);
                Assert.Equal(GroupReads, File.GetUnixFileMode(folder));
                Assert.Equal(GroupReads, File.GetUnixFileMode(data));
                Assert.Equal(Key, File.GetUnixFileMode(Path.Combine(data, "tls.key")));
                Assert.Equal(Certificate, File.GetUnixFileMode(Path.Combine(data, "tls.crt")));
                Assert.Equal(Certificate, File.GetUnixFileMode(Path.Combine(data, "ca.crt")));
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task An_allowed_peer_written_as_a_lenient_IP_address_is_a_usage_error_naming_the_canonical_form()
    {
        var serve = await Tool.RunAsync("serve", "--listen", "127.0.0.1:0", "--encrypt", "Disabled", "--allow-peer", "127.1");
        Assert.True(serve.ExitCode == 2, serve.Transcript);
        Assert.Contains("--allow-peer ('127.1') reads as the IP address 127.0.0.1 but is not written in canonical form; write 127.0.0.1.", serve.Errors, StringComparison.Ordinal);

        var send = await Tool.RunAsync("send", "--connect", "127.0.0.1:1", "--encrypt", "Disabled", "--server-name", "*.broker.svc");
        Assert.True(send.ExitCode == 2, send.Transcript);
        Assert.True(Regex.IsMatch(send.Errors, @"--server-name \('\*\.broker\.svc'\) holds a wildcard"), send.Transcript);
    }
}
