using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>serve --mode echo is raw bytes over mutual TLS 1.3, so a client that is not .NET can use it.</summary>
public sealed class OpenSslTests(PkiFixture fixture) : IClassFixture<PkiFixture>
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task openssl_s_client_gets_its_bytes_echoed_by_serve_over_mutual_TLS_13()
    {
        var pki = fixture.Pki;
        var (serve, port) = await Tool.ServeAsync("--cert-dir", pki.Backend, "--mode", "echo", "--allow-peer", "frontend");
        await using (serve)
        {
            await using var client = ChildProcess.Start("openssl",
            [
                "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_3",
                "-cert", Path.Combine(pki.Frontend, "tls.crt"), "-key", Path.Combine(pki.Frontend, "tls.key"),
                "-CAfile", Path.Combine(pki.Frontend, "ca.crt"), "-verify_return_error", "-verify_hostname", "localhost",
                "-servername", "localhost", "-brief",
            ]);
            await client.Input.WriteAsync("hello from openssl\n");
            await client.Input.FlushAsync(TestContext.Current.CancellationToken);

            await client.WaitForLineAsync("^hello from openssl$", Tool.Timeout);
            Assert.Contains("Verification: OK", client.Errors, StringComparison.Ordinal);

            // End of input: s_client closes, serve echoes what is left and logs the connection's bytes.
            client.Input.Close();
            await client.WaitForExitAsync(Tool.Timeout);
            await serve.WaitForLineAsync(@"client CN=frontend \[DNS:frontend\]", Tool.Timeout);
            await serve.WaitForLineAsync(@"closed after [\d.]+ s: 19 bytes received, 19 bytes sent", Tool.Timeout);
        }
    }
}
