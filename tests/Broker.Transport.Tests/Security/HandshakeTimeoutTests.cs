using System.Collections.Concurrent;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Security;

/// <summary>Peers that start a handshake and stall: bounded in time, bounded in number, and nobody else waits for them.</summary>
public class HandshakeTimeoutTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_silent_peer_is_dropped_at_the_handshake_timeout_and_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki, o => o.HandshakeTimeout = TimeSpan.FromSeconds(1));
        var refused = listener.NextFailure();

        using var silent = await StalledPeer.ConnectAsync(listener.LocalEndPoint, sendPartialClientHello: false, ct);

        // Served while the silent peer holds its slot (the real clock: this test checks the timer itself fires).
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using (client)
        await using (server)
        {
            await AssertFrameCrossesAsync(client, server, ct);
        }

        var error = await refused.AssertRefusedAsync(HandshakeFailureReason.Timeout, "did not finish within 1 s (HandshakeTimeout); the connection was dropped");
        Assert.Contains($"frontend at {silent.LocalEndPoint}", error.Message, StringComparison.Ordinal);
        await silent.AssertDroppedAsync();
        Assert.Equal(1, listener.HandshakesFailed);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_peer_stuck_inside_its_ClientHello_times_out_while_another_frontend_is_served_meanwhile()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        // Fake, for the timeouts; at the real now, since the same clock checks the certificates' validity.
        var time = Issuers.ClockAtRealNow();
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.HandshakeTimeout = TimeSpan.FromSeconds(2);
            o.Environment = o.Environment with { TimeProvider = time };
        });
        var refused = listener.NextFailure();

        using var stalled = await StalledPeer.ConnectAsync(listener.LocalEndPoint, sendPartialClientHello: true, ct);
        await WaitUntilAsync(() => listener.PendingHandshakes == 1, "the stalled peer to be in its handshake");

        // The clock stands still, so the stalled handshake is certainly still pending while this one completes.
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using (client)
        await using (server)
        {
            await AssertFrameCrossesAsync(client, server, ct);
        }

        Assert.Equal(1, listener.PendingHandshakes);
        Assert.Equal(0, listener.HandshakesFailed);
        Assert.False(refused.IsCompleted);

        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(2), () => refused.IsCompleted);
        await refused.AssertRefusedAsync(HandshakeFailureReason.Timeout, "did not finish within 2 s (HandshakeTimeout)");
        await stalled.AssertDroppedAsync();
        Assert.Equal(1, listener.HandshakesFailed);
        await WaitUntilAsync(() => listener.PendingHandshakes == 0, "the slot to be freed");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task No_more_than_MaxPendingHandshakes_are_in_their_handshake_at_once_and_the_rest_are_served_in_turn()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        // Fake, for the timeouts; at the real now, since the same clock checks the certificates' validity.
        var time = Issuers.ClockAtRealNow();
        const int max = 2;
        const int stalledCount = 5;
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.MaxPendingHandshakes = max;
            o.HandshakeTimeout = TimeSpan.FromSeconds(5);
            o.Environment = o.Environment with { TimeProvider = time };
        });
        var failures = new ConcurrentQueue<HandshakeException>();
        listener.HandshakeFailed += (_, e) => failures.Enqueue(e.Error);

        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var highest = Sampling.SampleHighestAsync(() => listener.PendingHandshakes, sampling.Token);
        var stalled = new List<StalledPeer>();
        try
        {
            for (var i = 0; i < stalledCount; i++)
            {
                // The kernel completes each TCP connect; the listener takes only as many as it has slots for.
                stalled.Add(await StalledPeer.ConnectAsync(listener.LocalEndPoint, sendPartialClientHello: true, ct));
            }

            await WaitUntilAsync(() => listener.PendingHandshakes >= max, "the slots to fill");

            // Give a listener without the bound every chance to take the other three before looking.
            for (var i = 0; i < 20; i++)
            {
                await Task.Delay(10, ct);
                Assert.True(listener.PendingHandshakes <= max, $"{listener.PendingHandshakes} handshakes pending with MaxPendingHandshakes {max}.");
            }

            Assert.True(failures.IsEmpty);

            // Each timeout frees a slot for a waiting peer, which stalls in turn, until all five have timed out.
            await AdvanceUntilAsync(time, TimeSpan.FromSeconds(5), () => failures.Count == stalledCount);
            await WaitUntilAsync(() => listener.PendingHandshakes == 0, "the last slot to be freed");
            await sampling.CancelAsync();
            Assert.Equal(max, await highest);

            Assert.All(failures, f => Assert.Equal(HandshakeFailureReason.Timeout, f.Reason));
            Assert.Equal(stalledCount, listener.HandshakesFailed);
            foreach (var peer in stalled)
            {
                await peer.AssertDroppedAsync();
            }

            // The slots are free again: a real frontend gets in.
            var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
            await using (client)
            await using (server)
            {
                await AssertFrameCrossesAsync(client, server, ct);
            }
        }
        finally
        {
            await sampling.CancelAsync();
            stalled.ForEach(p => p.Dispose());
        }
    }

    private static async Task AssertFrameCrossesAsync(TransportConnection client, TransportConnection server, CancellationToken ct)
    {
        await client.Output.WriteFrameAsync("served meanwhile"u8.ToArray(), ct);
        var reader = server.CreateFrameReader();
        Assert.True(await reader.ReadFrameAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct));
        Assert.Equal("served meanwhile", Encoding.UTF8.GetString(reader.Current));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + Refusals.HangGuard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Gave up waiting for {what}.");
            await Task.Delay(5, ct);
        }
    }

    /// <summary>
    /// Moves the fake clock on by <paramref name="step"/> until <paramref name="done"/>. A handshake's timer is
    /// created when its setup starts, so a step taken before then would miss it: keep stepping.
    /// </summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider time, TimeSpan step, Func<bool> done)
    {
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + Refusals.HangGuard;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "Gave up advancing the fake clock.");
            time.Advance(step);
            await Task.Delay(20, ct);
        }
    }
}
