using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Authentication;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// Our ends against OpenSSL's own (openssl s_server and s_client, OpenSSL 3): mutual TLS 1.3 works with a
/// peer that is not .NET, and OpenSSL peers we must refuse are refused. Every process is killed on the way out.
/// </summary>
public class OpenSslInteropTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Our_frontend_exchanges_data_with_openssl_s_server_over_mutual_TLS_13()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("backend", pki.Backend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);

        // -rev answers each line reversed; -Verify 1 -verify_return_error requires a client certificate that chains to ca.crt.
        await using var server = OpenSslProcess.Start(
            folder.Path, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3",
            "-Verify", "1", "-verify_return_error", "-cert", certificate, "-key", key, "-CAfile", bundle, "-rev");
        var port = await AcceptPortAsync(server, ct);

        await using var client = await new TransportConnector(Loopback.TlsClient(pki)).ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
        var longLine = string.Concat(Enumerable.Range(0, 600).Select(i => $"{i:x3}-")); // 2.4 KB: longer than one read of tiny lines
        var lines = new[] { "hello from the frontend", "plant-7/line-3/press-12/temperature", longLine };
        await client.Output.WriteAsync(Encoding.ASCII.GetBytes(string.Concat(lines.Select(l => l + "\n"))), ct);

        var answers = await ReadLinesAsync(client.Input, lines.Length, ct);
        Assert.Equal(lines.Select(Reverse), answers);
        Assert.Equal(SslProtocols.Tls13, client.Security.Protocol);
        Assert.Equal("CN=backend", client.Security.PeerCertificate!.Subject);

        // Our close_notify ends s_server's one session, and with -naccept 1 the process. In -rev mode it
        // reports the session (version, peer certificate, verification) on stderr.
        await client.DisposeAsync();
        var exit = await server.WaitForExitAsync(Refusals.HangGuard, ct);
        Assert.True(exit == 0, $"s_server exited with {exit}.\n{server.Transcript}");
        Assert.True(server.Errors.Contains("Protocol version: TLSv1.3", StringComparison.Ordinal), server.Transcript);
        Assert.True(server.Errors.Contains("Peer certificate: CN = frontend", StringComparison.Ordinal), server.Transcript);
        Assert.True(server.Errors.Contains("Verification: OK", StringComparison.Ordinal), server.Transcript);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task openssl_s_client_exchanges_data_with_our_backend_over_mutual_TLS_13()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("frontend", pki.Frontend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var listener = Loopback.ListenTls(pki, o => o.AllowedClientIdentities.Add("frontend"));

        await using var client = OpenSslProcess.Start(
            folder.Path, "s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-tls1_3",
            "-cert", certificate, "-key", key, "-CAfile", bundle, "-verify_return_error", "-verify_hostname", "localhost",
            "-servername", "localhost", "-quiet");
        await client.Input.WriteAsync("hello from openssl\nsecond line\n");
        await client.Input.FlushAsync(ct);

        await using var server = await listener.AcceptAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
        Assert.NotNull(server);
        var received = await ReadLinesAsync(server.Input, 2, ct);
        Assert.Equal(["hello from openssl", "second line"], received);
        Assert.Equal(SslProtocols.Tls13, server.Security.Protocol);
        Assert.Equal("CN=frontend", server.Security.PeerCertificate!.Subject);

        await server.Output.WriteAsync(Encoding.ASCII.GetBytes(string.Concat(received.Select(l => $"echo: {l}\n"))), ct);
        await server.Output.CompleteAsync(); // close_notify, then FIN: s_client prints what it got and exits

        var exit = await client.WaitForExitAsync(Refusals.HangGuard, ct);
        Assert.Equal("echo: hello from openssl\necho: second line\n", client.Output);
        Assert.True(exit == 0, $"s_client exited with {exit}.\n{client.Transcript}");
        Assert.Contains("verify return:1", client.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("verify error", client.Errors, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task openssl_s_client_without_a_certificate_is_refused_with_NoCertificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        await using var client = OpenSslProcess.Start(
            folder.Path, "s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-tls1_3",
            "-CAfile", bundle, "-verify_return_error", "-servername", "localhost", "-quiet");
        await client.Input.WriteAsync("anyone there?\n");
        await client.Input.FlushAsync(ct);

        await refused.AssertRefusedAsync(HandshakeFailureReason.NoCertificate, "The frontend presented no client certificate");
        var exit = await client.WaitForExitAsync(Refusals.HangGuard, ct);
        Assert.True(exit != 0, $"s_client exited with 0.\n{client.Transcript}");
        Assert.Empty(client.Output);

        // The backend closes without an alert (.NET on Linux sends none for a client certificate it refuses);
        // with s_client's line still unread in the backend's socket, the close arrives as a reset (errno 104).
        Assert.Matches("unexpected eof while reading|alert certificate required|errno=104", client.Errors);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task openssl_s_client_limited_to_TLS_12_is_refused_with_ProtocolVersion()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("frontend", pki.Frontend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var listener = Loopback.ListenTls(pki);
        var refused = listener.NextFailure();

        await using var client = OpenSslProcess.Start(
            folder.Path, "s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-tls1_2",
            "-cert", certificate, "-key", key, "-CAfile", bundle, "-servername", "localhost", "-quiet");

        await refused.AssertRefusedAsync(HandshakeFailureReason.ProtocolVersion, "share no TLS version or cipher suite");
        var exit = await client.WaitForExitAsync(Refusals.HangGuard, ct);
        Assert.True(exit != 0, $"s_client exited with 0.\n{client.Transcript}");
        Assert.Contains("alert protocol version", client.Errors, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Our_frontend_refuses_an_openssl_s_server_limited_to_TLS_12()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("backend", pki.Backend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var server = OpenSslProcess.Start(
            folder.Path, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_2",
            "-Verify", "1", "-cert", certificate, "-key", key, "-CAfile", bundle, "-rev");
        var port = await AcceptPortAsync(server, ct);

        var clientError = await Refusals.ConnectExpectingFailureAsync(Loopback.TlsClient(pki), new IPEndPoint(IPAddress.Loopback, port));

        Refusals.AssertHandshake(clientError, HandshakeFailureReason.ProtocolVersion, "this side requires TLS 1.3 unless AllowTls12 is set");
        await server.WaitForLineAsync("unsupported protocol", Refusals.HangGuard, ct);
        Assert.Contains("CONNECTION FAILURE", server.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("CONNECTION ESTABLISHED", server.Transcript, StringComparison.Ordinal);
    }

    private static async Task<int> AcceptPortAsync(OpenSslProcess server, CancellationToken ct)
    {
        // -accept 127.0.0.1:0 lets the kernel choose; s_server says which port it got.
        var accept = await server.WaitForLineAsync(@"^ACCEPT 127\.0\.0\.1:(\d+)$", Refusals.HangGuard, ct);
        return int.Parse(accept.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Reverse(string line)
    {
        var chars = line.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    /// <summary>Reads <paramref name="count"/> newline-terminated ASCII lines, bounded by the hang guard.</summary>
    private static async Task<string[]> ReadLinesAsync(PipeReader input, int count, CancellationToken ct)
    {
        var lines = new List<string>();
        while (lines.Count < count)
        {
            var result = await input.ReadAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
            var buffer = result.Buffer;
            while (lines.Count < count && buffer.PositionOf((byte)'\n') is { } end)
            {
                lines.Add(Encoding.ASCII.GetString(buffer.Slice(0, end)));
                buffer = buffer.Slice(buffer.GetPosition(1, end));
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted && lines.Count < count)
            {
                Assert.Fail($"The stream ended after {lines.Count} of {count} lines.");
            }
        }

        return [.. lines];
    }
}
