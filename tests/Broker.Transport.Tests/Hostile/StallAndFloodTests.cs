using System.Collections.Concurrent;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Hostile;

/// <summary>
/// Peers that hold the listener's handshake slots: one that trickles its ClientHello a byte at a time
/// (slowloris), and a flood of connections that never finish a handshake. The timeout and the bound on pending
/// handshakes hold, the accept loop survives, and an established frontend never notices.
/// </summary>
[Collection(RunsAlone.Name)]
public class StallAndFloodTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_ClientHello_trickled_a_byte_at_a_time_is_cut_at_the_handshake_timeout_however_busy_the_peer_looks()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.HandshakeTimeout = TimeSpan.FromSeconds(2));
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);
        var refused = listener.NextFailure();

        // The timeout bounds the whole handshake, not the silence between bytes: steady activity buys nothing.
        var hello = HostilePeer.ClientHello();
        using var peer = await HostilePeer.ConnectAsync(listener.LocalEndPoint, ct);
        var sent = 0;
        try
        {
            while (sent < hello.Length && !refused.IsCompleted)
            {
                await peer.SendAsync(hello.AsMemory(sent, 1), ct);
                sent++;
                await Task.Delay(100, ct);
            }
        }
        catch (SocketException)
        {
            // The listener dropped the peer between two bytes.
        }

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.Timeout, "did not finish within 2 s (HandshakeTimeout); the connection was dropped");
        Assert.True(sent < hello.Length, $"The whole {hello.Length}-byte ClientHello went out before the timeout.");
        Assert.Contains($"frontend at {peer.Socket.LocalEndPoint}", error.Message, StringComparison.Ordinal);
        Assert.Empty(await peer.ReadUntilClosedAsync(ct));
        Assert.Equal(1, listener.HandshakesFailed);
        await witness.AssertStillExchangingAsync();
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_flood_of_connections_that_never_handshake_stays_within_the_bound_and_the_listener_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        const int max = 8;
        const int each = 40;
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.MaxPendingHandshakes = max;
            o.HandshakeTimeout = TimeSpan.FromSeconds(1);
        });
        await using var witness = await Witness.StartAsync(listener, Loopback.TlsClient(pki), ct);
        var failures = new ConcurrentQueue<HandshakeException>();
        listener.HandshakeFailed += (_, e) => failures.Enqueue(e.Error);

        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var highest = Task.Run(() => Sampling.SampleHighestAsync(() => listener.PendingHandshakes, sampling.Token), ct);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var peers = new List<HostilePeer>();
        try
        {
            // Three kinds, interleaved: silent, reset at once, noise. The kernel completes every connect; the
            // listener takes them from its backlog only as slots free.
            var noise = new byte[512];
            new Random(5).NextBytes(noise);
            noise[0] = 0x16;
            noise[1] = 0x03;
            noise[3] = 0xff; // a record length above 2^14: refused at once
            for (var i = 0; i < each; i++)
            {
                peers.Add(await HostilePeer.ConnectAsync(listener.LocalEndPoint, ct));
                var resetting = await HostilePeer.ConnectAsync(listener.LocalEndPoint, ct);
                resetting.Reset();
                resetting.Dispose();
                var noisy = await HostilePeer.ConnectAsync(listener.LocalEndPoint, ct);
                await noisy.SendAsync(noise, ct);
                peers.Add(noisy);
            }

            var heapDuring = GC.GetTotalMemory(forceFullCollection: true);
            await WaitUntilAsync(() => failures.Count >= 3 * each, TimeSpan.FromMinutes(2), () => $"{failures.Count} of {3 * each} refusals");
            await sampling.CancelAsync();
            var peak = await highest;

            Assert.True(peak <= max, $"{peak} handshakes were pending at once with MaxPendingHandshakes {max}.");
            Assert.Equal(3 * each, listener.HandshakesFailed);
            var reasons = failures.GroupBy(f => f.Reason).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(each, reasons.GetValueOrDefault(HandshakeFailureReason.Timeout));
            Assert.Equal(each, reasons.GetValueOrDefault(HandshakeFailureReason.PeerClosed));
            Assert.Equal(each, reasons.GetValueOrDefault(HandshakeFailureReason.MalformedHandshake));

            // 120 pending peers cost the listener no more than a few KB each: they wait in the kernel's backlog.
            var growth = heapDuring - heapBefore;
            TestContext.Current.SendDiagnosticMessage($"GC heap growth with {3 * each} hostile peers queued: {growth / 1024} KiB");
            Assert.True(growth < 16 * 1024 * 1024, $"The GC heap grew by {growth / 1024} KiB while {3 * each} hostile peers were queued.");

            // The accept loop is alive: a new frontend gets in, and the established one never stopped.
            await using var late = await Link.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
            await late.PingAsync("after the flood", ct);
            await witness.AssertStillExchangingAsync();
        }
        finally
        {
            await sampling.CancelAsync();
            peers.ForEach(p => p.Dispose());
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit, Func<string> what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Gave up waiting: {what()}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
