using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// A replaced credentials version is disposed, its private key with it, once no handshake holds it; and that is
/// safe on Linux, where an established SslStream and the SSL_CTX cache (kept per certificate context, with its
/// session tickets) were made from it: rotations under open connections and handshakes in flight, then frames on
/// the old connections, resumed handshakes and graceful closes, with the garbage collector run in between.
/// </summary>
[Collection(RunsAlone.Name)] // Many handshakes at once, and the GC forced.
public sealed class KeyHygieneTests
{
    [Fact(Timeout = 180_000)]
    public async Task Rotated_out_leaves_of_the_issuer_are_disposed_while_connections_made_with_them_keep_working_and_resume()
    {
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        await using var relay = new TlsHandshakeRelay(listener.LocalEndPoint);
        var client = new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = "localhost" };

        // Two connections made with the first leaves: a full handshake and a resumed one.
        await using var full = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
        Assert.False((await relay.NextAsync(ct)).ServerResumed);
        await full.PingAsync("ticket", ct);
        await using var resumed = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
        Assert.True((await relay.NextAsync(ct)).ServerResumed);
        var replaced = new List<X509Certificate2> { issuer.BackendSide.Leaf!, issuer.FrontendSide.Leaf! };

        // Rotations while new handshakes run: each handshake holds the version it started with.
        using var stop = new CancellationTokenSource();
        var connecting = Enumerable.Range(0, 3).Select(_ => Task.Run(() => ConnectRepeatedlyAsync(listener, client, stop.Token), ct)).ToArray();
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(50, ct);
            if (i == 3)
            {
                issuer.RollOverRootNow();
            }
            else
            {
                issuer.RenewNow();
            }

            replaced.Add(issuer.BackendSide.Leaf!);
            replaced.Add(issuer.FrontendSide.Leaf!);
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        await stop.CancelAsync();
        var handshakes = (await Task.WhenAll(connecting).Guarded(ct)).Sum();
        Assert.True(handshakes > 0, "No handshake ran during the rotations.");

        // Every leaf but the current two was disposed: nothing holds them any more.
        var current = new[] { issuer.BackendSide.Leaf!, issuer.FrontendSide.Leaf! };
        var old = replaced.Where(l => !current.Any(c => ReferenceEquals(c, l))).Distinct(ReferenceEqualityComparer.Instance).Cast<X509Certificate2>().ToList();
        Assert.Equal(12, old.Count);
        Assert.All(old, leaf => Assert.Equal(IntPtr.Zero, leaf.Handle));
        Assert.All(current, leaf => Assert.NotEqual(IntPtr.Zero, leaf.Handle));

        // The connections made with the disposed leaves and keys go on: frames both ways, large ones too.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        for (var i = 0; i < 20; i++)
        {
            await full.PingAsync($"old leaves, frame {i}" + new string('x', i * 4000), ct);
            await resumed.PingAsync($"old leaves, resumed, frame {i}", ct);
        }

        // New handshakes with the current leaves (the first may already resume a session of the handshakes above,
        // made with the same leaves), and a resumption.
        await using var fresh = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
        await relay.NextAsync(ct);
        await fresh.PingAsync("ticket", ct);
        await using var again = await Link.ConnectAsync(listener, client, ct, relay.LocalEndPoint);
        Assert.True((await relay.NextAsync(ct)).ServerResumed);
        await again.PingAsync("resumed after the rotations", ct);
        Assert.Equal(current[0].Thumbprint, again.BackendSeenByClient);

        // And an old connection closes gracefully (close_notify both ways): both sides finish, each input cleanly.
        await full.Client.Output.CompleteAsync();
        await full.Server.Output.CompleteAsync();
        await full.Client.ConnectionClosed.WhenCanceled().Guarded(ct);
        await full.Server.ConnectionClosed.WhenCanceled().Guarded(ct);
        Assert.Null(full.Client.InputError);
        Assert.Null(full.Server.InputError);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_replaced_Secret_folder_set_is_disposed_once_its_handshakes_end_and_its_connection_keeps_working()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        using var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(pki.Backend()));
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1) });
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = source });
        var client = Loopback.TlsClient(pki);
        var first = source.GetCurrent().Certificate;
        await using var before = await Link.ConnectAsync(listener, client, ct);

        folder.Write(KubeletSecretFolder.Payload(pki.Backend()));
        Assert.True(source.CheckNow());
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(IntPtr.Zero, first.Handle);
        await before.PingAsync("with a disposed leaf", ct);
        await using var after = await Link.ConnectAsync(listener, client, ct);
        Assert.Equal(source.GetCurrent().Thumbprint, after.BackendSeenByClient);
        await before.PingAsync("still", ct);

        // Disposing the source lets its last set go too, once no handshake holds it.
        var last = source.GetCurrent().Certificate;
        source.Dispose();
        Assert.Equal(IntPtr.Zero, last.Handle);
        await after.PingAsync("after the source was disposed", ct);
    }

    private static async Task<int> ConnectRepeatedlyAsync(TransportListener listener, TransportConnectorOptions client, CancellationToken stop)
    {
        var count = 0;
        while (!stop.IsCancellationRequested)
        {
            await using var link = await Link.ConnectAsync(listener, client, CancellationToken.None);
            await link.PingAsync("during the rotations", CancellationToken.None);
            count++;
        }

        return count;
    }
}
