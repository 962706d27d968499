using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// How an encrypted stream ends. A peer that closes properly sends TLS close_notify, then FIN; one whose stream is
/// cut (a crash, a lost connection, a FIN injected on the way) sends FIN alone. SslStream returns 0 for both; the
/// transport tells them apart and reports the cut as <see cref="ConnectionTruncatedException"/>, so a dropped tail
/// of whole frames does not pass for a clean end. Real peers: a bare SslStream over a raw socket, and openssl.
/// </summary>
public sealed class TlsTruncationTests
{
    private const string Truncation = "ended the connection without TLS close_notify";

    [Fact(Timeout = 60_000)]
    public async Task A_frontend_that_sends_FIN_without_close_notify_after_whole_frames_is_a_truncation_not_a_clean_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var raw = await RawFrontendAsync(listener, pki, ct);
        await using var server = await AcceptAsync(listener, ct);
        var frames = server.CreateFrameReader();

        // Three whole frames, then the stream is cut: the frames arrive, and the end says it was cut.
        for (var i = 0; i < 3; i++)
        {
            await raw.Stream.WriteAsync(Frame(i, 100), ct);
            Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
            Assert.Equal(Frame(i, 100)[4..], frames.Current.ToArray());
        }

        raw.SendFinWithoutCloseNotify();
        var error = await Assert.ThrowsAsync<ConnectionTruncatedException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Contains(Truncation, error.Message, StringComparison.Ordinal);
        Assert.Contains("what the peer sent after the last byte received may be lost", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_frontend_cut_inside_a_frame_is_a_truncation_and_the_partial_frame_is_never_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var raw = await RawFrontendAsync(listener, pki, ct);
        await using var server = await AcceptAsync(listener, ct);
        var frames = server.CreateFrameReader();
        await raw.Stream.WriteAsync(Frame(0, 100), ct);
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));

        await raw.Stream.WriteAsync(Frame(1, 200).AsMemory(0, 50), ct);
        await raw.Stream.FlushAsync(ct);
        raw.SendFinWithoutCloseNotify();

        var error = await Assert.ThrowsAsync<ConnectionTruncatedException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Contains(Truncation, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_frontend_that_sends_close_notify_then_FIN_ends_cleanly_after_its_last_frame()
    {
        // The control: the same peer, closing as TLS asks.
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        await using var raw = await RawFrontendAsync(listener, pki, ct);
        await using var server = await AcceptAsync(listener, ct);
        var frames = server.CreateFrameReader();
        await raw.Stream.WriteAsync(Frame(0, 100), ct);
        await raw.Stream.WriteAsync(Frame(1, 100), ct);

        await raw.CloseProperlyAsync();

        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal(Frame(1, 100)[4..], frames.Current.ToArray());
        Assert.False(await frames.ReadFrameAsync(ct).Guarded(ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_backend_that_sends_FIN_without_close_notify_is_a_truncation_for_the_frontend()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        var backend = pki.Backend();
        var serving = Task.Run(
            async () =>
            {
                using var accepted = await socket.AcceptAsync(ct);
                await using var ssl = new SslStream(new NetworkStream(accepted, ownsSocket: false));
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = SslStreamCertificateContext.Create(backend.Certificate, null, offline: true),
                        ClientCertificateRequired = true,
                        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null, // this test is about the end, not the peer
                        EnabledSslProtocols = SslProtocols.Tls13,
                    },
                    ct);
                await ssl.WriteAsync(Frame(0, 100), ct);
                await ssl.WriteAsync(Frame(1, 100), ct);
                accepted.Shutdown(SocketShutdown.Send); // no close_notify
                var rest = new byte[16];
                while (await ssl.ReadAsync(rest, ct) > 0)
                {
                }
            },
            ct);

        await using var client = await new TransportConnector(Loopback.TlsClient(pki)).ConnectAsync(socket.LocalEndPoint!, ct).Guarded(ct);
        var frames = client.CreateFrameReader();
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        var error = await Assert.ThrowsAsync<ConnectionTruncatedException>(async () => await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Contains(Truncation, error.Message, StringComparison.Ordinal);
        await client.DisposeAsync();
        await serving.Guarded(ct);
    }

    [Fact(Timeout = 90_000)]
    public async Task openssl_s_client_killed_mid_stream_is_a_truncation_and_one_whose_input_ends_closes_cleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new TempFolder();
        var (certificate, key) = folder.WriteCredentials("frontend", pki.Frontend());
        var bundle = folder.WriteBundle("ca.crt", pki.Bundle);
        await using var listener = Loopback.ListenTls(pki);

        foreach (var killed in new[] { true, false })
        {
            await using var client = OpenSslProcess.Start(
                folder.Path, "s_client", "-connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "-tls1_3",
                "-cert", certificate, "-key", key, "-CAfile", bundle, "-verify_return_error", "-servername", "localhost", "-quiet", "-no_ign_eof");
            await client.Input.WriteAsync("a line before the end\n");
            await client.Input.FlushAsync(ct);
            await using var server = await AcceptAsync(listener, ct);
            var line = new StringBuilder();
            while (!line.ToString().EndsWith('\n'))
            {
                var read = await server.Input.ReadAsync(ct).AsTask().Guarded(ct);
                foreach (var segment in read.Buffer)
                {
                    line.Append(Encoding.ASCII.GetString(segment.Span));
                }

                server.Input.AdvanceTo(read.Buffer.End);
                Assert.False(read.IsCompleted, $"The input ended before the line: '{line}'.");
            }

            if (killed)
            {
                await client.DisposeAsync(); // SIGKILL: the kernel closes its socket with a FIN, no close_notify
            }
            else
            {
                client.Input.Close(); // end of input: s_client shuts the session down (close_notify), then exits
            }

            var ended = await ReadToEndAsync(server.Input, ct).Within(killed ? "the input's end after s_client was killed" : "the input's end after s_client's input ended", ct);
            if (killed)
            {
                var error = Assert.IsType<ConnectionTruncatedException>(ended);
                Assert.Contains(Truncation, error.Message, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(ended is null, $"s_client's close ended the input with {ended}.\n{client.Transcript}");
            }
        }
    }

    private static async Task<Exception?> ReadToEndAsync(System.IO.Pipelines.PipeReader input, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(ct);
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return null;
                }
            }
        }
        catch (TransportException ex)
        {
            return ex;
        }
    }

    private static async Task<RawTls> RawFrontendAsync(TransportListener listener, TestPki pki, CancellationToken ct)
    {
        var raw = await RawTls.ConnectAsync(listener.LocalEndPoint, ct);
        await raw.AuthenticateAsync(pki, SslProtocols.Tls13, pki.Frontend().Certificate, ct).Guarded(ct);
        return raw;
    }

    private static async Task<TransportConnection> AcceptAsync(TransportListener listener, CancellationToken ct)
        => await listener.AcceptAsync(ct).AsTask().Within($"the backend to accept (refused so far: {listener.HandshakesFailed})", ct)
            ?? throw new InvalidOperationException("The listener closed.");

    /// <summary>Frame <paramref name="number"/>: a 4-byte big-endian length, then <paramref name="size"/> bytes that depend on it.</summary>
    private static byte[] Frame(int number, int size)
    {
        var frame = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(frame, size);
        for (var i = 0; i < size; i++)
        {
            frame[4 + i] = (byte)(number + i);
        }

        return frame;
    }
}
