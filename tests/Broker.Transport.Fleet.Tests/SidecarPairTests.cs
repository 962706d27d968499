using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Benchmarks;
using Broker.Transport.Certificates;
using Broker.Transport.Framing;

namespace Broker.Transport.Fleet.Tests;

/// <summary>
/// The report's sidecar pair, as it runs: two real stunnel processes between two plaintext ends of this
/// transport. Frames must cross intact, and what the two stunnels speak must be TLS 1.3 with the client's
/// certificate required and chained to the internal root. Without stunnel on the PATH these tests fail, saying
/// so (.ci/run installs stunnel4).
/// </summary>
public sealed class SidecarPairTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Frames_of_every_size_cross_the_pair_byte_for_byte_and_the_ends_see_plaintext()
    {
        using var issuer = TlsLoopback.StartIssuer();
        await using var sidecar = await SidecarLoopback.StartAsync(Stunnel(), issuer);
        var (client, server) = await sidecar.ConnectAsync().WaitAsync(Bound, TestContext.Current.CancellationToken);
        await using (client)
        await using (server)
        {
            Assert.False(client.Security.IsEncrypted);
            Assert.False(server.Security.IsEncrypted);
            byte[][] messages = [.. Payloads.Get(Payloads.Mixed, 4).Batch, .. Telemetry.Messages(500, seed: 16), .. Payloads.Get("64KiB", 16).Batch];
            using var timeout = new CancellationTokenSource(Bound);
            var (echoed, verified, mismatch) = await Demo.EchoCheckAsync(client, server, messages, timeout.Token);
            Assert.True(mismatch is null, $"{mismatch}\n{sidecar.Pair.Log}");
            Assert.Equal(messages.Length, echoed);
            Assert.Equal(messages.Length, verified);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_pair_speaks_TLS_1_3_on_the_internal_root_and_refuses_a_client_without_a_certificate_one_from_another_root_and_TLS_1_2()
    {
        using var issuer = TlsLoopback.StartIssuer();
        using var stranger = TlsLoopback.StartIssuer();
        await using var sidecar = await SidecarLoopback.StartAsync(Stunnel(), issuer, TlsCipherSuite.TLS_AES_128_GCM_SHA256);
        var backend = issuer.Backend.GetCurrent();
        var frontend = issuer.Frontend.GetCurrent();

        // What the stunnel client does, by hand: the server presents the backend's leaf, on TLS 1.3 and the pinned suite.
        await using (var ssl = await HandshakeAsync(sidecar.Pair, frontend.Certificate, backend.TrustBundle, SslProtocols.Tls13))
        {
            Assert.Equal(SslProtocols.Tls13, ssl.SslProtocol);
            Assert.Equal(TlsCipherSuite.TLS_AES_128_GCM_SHA256, ssl.NegotiatedCipherSuite);
            Assert.Equal(backend.Certificate.Thumbprint, ssl.RemoteCertificate?.GetCertHashString());

            // And what it sends reaches the backend in plaintext: one frame, length-prefixed.
            await ssl.WriteAsync("\0\0\0\u0005hello"u8.ToArray(), TestContext.Current.CancellationToken);
            await ssl.FlushAsync(TestContext.Current.CancellationToken);
            await using var reached = await sidecar.AcceptAsync();
            var frames = reached.CreateFrameReader();
            using var timeout = new CancellationTokenSource(Bound);
            Assert.True(await frames.ReadFrameAsync(timeout.Token), sidecar.Pair.Log);
            Assert.Equal("hello"u8.ToArray(), frames.Current.ToArray());
        }

        // In TLS 1.3 the server judges the client's certificate after the client's Finished, so a refusal shows as
        // a failed handshake or as an alert (or the end of the stream) on the first read.
        Assert.True(await RefusedAsync(sidecar.Pair, null, backend.TrustBundle, SslProtocols.Tls13), $"A client without a certificate got through.\n{sidecar.Pair.Log}");
        Assert.True(await RefusedAsync(sidecar.Pair, stranger.Frontend.GetCurrent().Certificate, backend.TrustBundle, SslProtocols.Tls13), $"A client certificate from another root got through.\n{sidecar.Pair.Log}");
        Assert.True(await RefusedAsync(sidecar.Pair, frontend.Certificate, backend.TrustBundle, SslProtocols.Tls12), $"A TLS 1.2 client got through.\n{sidecar.Pair.Log}");
        Assert.Contains("certificate", sidecar.Pair.Log, StringComparison.OrdinalIgnoreCase);

        // None of the refused ones reached the backend: the next connection through the pair is the first it accepts.
        var (client, server) = await sidecar.ConnectAsync().WaitAsync(Bound, TestContext.Current.CancellationToken);
        await using (client)
        await using (server)
        {
            using var timeout = new CancellationTokenSource(Bound);
            var (_, verified, mismatch) = await Demo.EchoCheckAsync(client, server, Telemetry.Messages(10, seed: 3), timeout.Token);
            Assert.True(verified == 10 && mismatch is null, $"{verified} of 10 echoed, {mismatch}\n{sidecar.Pair.Log}");
        }
    }

    private static string Stunnel() => StunnelPair.FindExecutable()
        ?? throw new InvalidOperationException("stunnel is not on the PATH: these tests run a real stunnel pair (apt-get install stunnel4, as .ci/run does).");

    private static async Task<SslStream> HandshakeAsync(StunnelPair pair, X509Certificate2? certificate, X509Certificate2Collection roots, SslProtocols protocols)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(pair.TlsEndPoint).WaitAsync(Bound);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        trust.CustomTrustStore.AddRange(roots);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = TlsLoopback.ServerIdentity,
                ClientCertificates = certificate is null ? null : [certificate],

                // Sent whatever CA names the server asks for, so a stranger's certificate is judged, not left out.
                LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
                EnabledSslProtocols = protocols,
                CertificateChainPolicy = trust,
            }).WaitAsync(Bound);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether the pair's server refused the handshake: it failed, or the first read met an alert or the end.</summary>
    private static async Task<bool> RefusedAsync(StunnelPair pair, X509Certificate2? certificate, X509Certificate2Collection roots, SslProtocols protocols)
    {
        SslStream ssl;
        try
        {
            ssl = await HandshakeAsync(pair, certificate, roots, protocols);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return true;
        }

        await using (ssl)
        {
            try
            {
                await ssl.WriteAsync(new byte[] { 0, 0, 0, 1, 42 }).AsTask().WaitAsync(Bound);
                return await ssl.ReadAsync(new byte[16]).AsTask().WaitAsync(Bound) == 0;
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                return true;
            }
            catch (TimeoutException)
            {
                // Through to the backend, which never answers: not refused.
                return false;
            }
        }
    }
}
