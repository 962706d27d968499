using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// The pending-handshake bound (<see cref="TransportListenerOptions.MaxPendingHandshakes"/>) hands a freed slot on at
/// once, and costs a plaintext listener nothing: silent peers never hold a slot there. (Peers that stall until
/// they time out, and a flood of them, are in <see cref="HandshakeTimeoutTests"/> and the Hostile tests.)
/// </summary>
public class HandshakeSlotTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task At_the_bound_a_waiting_frontend_is_served_as_soon_as_one_stalled_peer_leaves_while_the_others_still_stall()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        const int max = 2;

        // Fake, so no stalled handshake times out during the test; at the real now, since it also checks the certificates.
        var time = Issuers.ClockAtRealNow();
        await using var listener = Loopback.ListenTls(pki, o =>
        {
            o.MaxPendingHandshakes = max;
            o.HandshakeTimeout = TimeSpan.FromSeconds(5);
            o.Environment = new TransportEnvironment { TimeProvider = time };
        });
        var refused = listener.NextFailure();
        var stalled = new List<StalledPeer>();
        try
        {
            for (var i = 0; i < max; i++)
            {
                stalled.Add(await StalledPeer.ConnectAsync(listener.LocalEndPoint, sendPartialClientHello: true, ct));
            }

            await WaitUntilAsync(() => listener.PendingHandshakes == max, "the stalled peers to take both slots");

            // The frontend's TCP connect completes in the kernel's backlog; its handshake waits for a slot.
            var options = Loopback.TlsClient(pki);
            options.HandshakeTimeout = Guard.HangTimeout;
            var connecting = Loopback.ConnectAsync(listener, options, ct);
            for (var i = 0; i < 20; i++)
            {
                await Task.Delay(10, ct);
                Assert.False(connecting.IsCompleted, "The frontend was served while both slots were held: the bound did not hold.");
                Assert.True(listener.PendingHandshakes <= max, $"{listener.PendingHandshakes} handshakes pending with MaxPendingHandshakes {max}.");
            }

            // One stalled peer leaves: its slot goes to the waiting frontend, not after the other peer's timeout.
            var leaving = stalled[0].LocalEndPoint;
            var clock = Stopwatch.StartNew();
            stalled[0].Dispose();
            var (client, server) = await connecting;
            await using (client)
            await using (server)
            {
                TestContext.Current.SendDiagnosticMessage($"Served {clock.ElapsedMilliseconds} ms after a slot freed.");
                await client.Output.WriteFrameAsync("served in the freed slot"u8.ToArray(), ct);
                var reader = server.CreateFrameReader();
                Assert.True(await reader.ReadFrameAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct));
                Assert.Equal("served in the freed slot", Encoding.UTF8.GetString(reader.Current));
            }

            var error = await refused.AssertRefusedAsync(HandshakeFailureReason.PeerClosed, "closed");
            Assert.Contains($"frontend at {leaving}", error.Message, StringComparison.Ordinal);
            Assert.Equal(1, listener.HandshakesFailed);
            Assert.Equal(1, listener.PendingHandshakes);
        }
        finally
        {
            stalled.ForEach(p => p.Dispose());
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_plaintext_listener_accepts_silent_peers_at_once_past_its_bound_and_still_serves_a_frontend()
    {
        var ct = TestContext.Current.CancellationToken;
        const int silentCount = 8;
        var options = Loopback.PlaintextServer();
        options.MaxPendingHandshakes = 1;
        await using var listener = Loopback.Listen(options);
        var silent = new List<Socket>();
        try
        {
            // Peers that connect and never send a byte: plaintext setup waits for nothing from the peer, so each
            // is handed out at once and the single slot is free again for the next.
            for (var i = 0; i < silentCount; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                silent.Add(socket);
                await socket.ConnectAsync(listener.LocalEndPoint, ct).AsTask().Within($"silent peer {i + 1}'s TCP connect", ct);
            }

            var accepted = new List<EndPoint>();
            for (var i = 0; i < silentCount; i++)
            {
                var connection = await listener.AcceptAsync(ct).AsTask().Within($"the listener to accept silent peer {i + 1} of {silentCount}", ct)
                    ?? throw new InvalidOperationException("The listener closed.");
                accepted.Add(connection.RemoteEndPoint);
                await connection.DisposeAsync();
            }

            Assert.Equal(silent.Select(s => s.LocalEndPoint!.ToString()).Order(), accepted.Select(e => e.ToString()).Order());
            Assert.Equal(0, listener.PendingHandshakes);

            var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
            await using (client)
            await using (server)
            {
                await client.Output.WriteFrameAsync("after the silent ones"u8.ToArray(), ct);
                var reader = server.CreateFrameReader();
                Assert.True(await reader.ReadFrameAsync(ct).AsTask().WaitAsync(Refusals.HangGuard, ct));
                Assert.Equal("after the silent ones", Encoding.UTF8.GetString(reader.Current));
            }
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
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
}
