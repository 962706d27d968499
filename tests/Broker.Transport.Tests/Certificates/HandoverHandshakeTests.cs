using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Certificates;

/// <summary>
/// An abrupt CA switch (leaf and ca.crt changed together) reaching a backend pod and a frontend pod at different
/// moments, as kubelet delivers each pod's update after its own delay: real handshakes through a real listener and
/// connector, each side's Secret a kubelet-style folder read by its own source on its own fake clock. With the
/// handover, a peer that has not reloaded yet is accepted at every step; with RootHandover 0 it is refused.
/// </summary>
public sealed class HandoverHandshakeTests
{
    private static readonly TimeSpan Handover = TrustFolders.Handover;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task With_the_handover_a_peer_that_has_not_reloaded_yet_is_accepted_at_every_step_of_an_abrupt_CA_switch()
    {
        var ct = TestContext.Current.CancellationToken;
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var (backendOld, frontendOld) = (r1.Backend(), r1.Frontend());
        var (backendNew, frontendNew) = (r2.Backend(), r2.Frontend());
        using var backend = TrustFolders.Open(backendOld);
        using var frontend = TrustFolders.Open(frontendOld);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend.Source, AllowedClientIdentities = { "frontend" } });
        var client = new TransportConnectorOptions { Certificates = frontend.Source, ServerIdentity = "localhost" };
        await using var before = await Link.ConnectAsync(listener, client, ct);

        async Task<(string Backend, string Frontend)> HandshakeAsync(string step)
        {
            await using var link = await Link.ConnectAsync(listener, client, ct);
            await link.PingAsync(step, ct);
            return (link.BackendSeenByClient, link.FrontendSeenByServer);
        }

        // The backend's update comes first. It trusts root 2 now, still presents its root 1 leaf, still trusts root 1.
        backend.WriteSecret(backendNew);
        await backend.PollAsync();
        Assert.Equal(backendNew.Thumbprint, backend.Source.Handover!.PendingThumbprint);
        Assert.Equal((backendOld.Thumbprint, frontendOld.Thumbprint), await HandshakeAsync("backend in its handover, frontend not reloaded"));

        // 30 s later (kubelet's own delay for the frontend's pod), the frontend's.
        await backend.AdvanceAsync(TimeSpan.FromSeconds(30));
        frontend.WriteSecret(frontendNew);
        await frontend.PollAsync();
        Assert.Equal((backendOld.Thumbprint, frontendOld.Thumbprint), await HandshakeAsync("both in their handover"));

        // The backend switches: its root 2 leaf meets a frontend that trusts root 2 since its update; the frontend's
        // root 1 leaf meets a backend that keeps root 1 trusted.
        await backend.AdvanceAsync(backend.Source.Handover.SwitchAt!.Value - backend.Time.GetUtcNow());
        Assert.Equal(backendNew.Thumbprint, backend.Source.GetCurrent().Thumbprint);
        Assert.Equal((backendNew.Thumbprint, frontendOld.Thumbprint), await HandshakeAsync("backend switched, frontend not yet"));

        // The frontend switches 30 s after the backend did.
        await frontend.AdvanceAsync(frontend.Source.Handover!.SwitchAt!.Value - frontend.Time.GetUtcNow());
        Assert.Equal((backendNew.Thumbprint, frontendNew.Thumbprint), await HandshakeAsync("both switched"));

        // Each side retires root 1, RootHandover after it switched; new handshakes never needed it any more.
        await backend.AdvanceAsync(Handover);
        await frontend.AdvanceAsync(Handover);
        Assert.Null(backend.Source.Handover);
        Assert.Null(frontend.Source.Handover);
        Assert.DoesNotContain(r1.Root.Thumbprint, backend.Trusted());
        Assert.Equal((backendNew.Thumbprint, frontendNew.Thumbprint), await HandshakeAsync("after the handover"));
        Assert.Equal(0, listener.HandshakesFailed);

        // The connection made before the switch carried on throughout.
        await before.PingAsync("made before the CA switch", ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task With_RootHandover_zero_a_peer_that_has_not_reloaded_yet_is_refused_both_ways()
    {
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        using var backend = TrustFolders.Open(r1.Backend(), handover: TimeSpan.Zero);
        using var frontend = TrustFolders.Open(r1.Frontend(), handover: TimeSpan.Zero);
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = backend.Source });
        var client = new TransportConnectorOptions { Certificates = frontend.Source, ServerIdentity = "localhost" };
        var refused = listener.NextFailure();

        backend.WriteSecret(r2.Backend());
        await backend.PollAsync();

        // The frontend refuses the backend's root 2 leaf; the backend would refuse the frontend's root 1 leaf too.
        var error = await Refusals.ConnectExpectingFailureAsync(client, listener.LocalEndPoint);
        Refusals.AssertHandshake(error, HandshakeFailureReason.UntrustedChain, "does not chain to the internal trust bundle (CN=Root 1)");
        Assert.DoesNotContain(r1.Root.Thumbprint, backend.Trusted());

        // The backend judged the frontend's leaf before the frontend's reset came (it usually does), or saw the reset.
        var backendSide = (await refused.WaitAsync(Refusals.HangGuard, TestContext.Current.CancellationToken)).Error;
        if (backendSide.Reason == HandshakeFailureReason.UntrustedChain)
        {
            Assert.Contains("CN=frontend, issued by CN=Root 1, does not chain to the internal trust bundle (CN=Root 2)", backendSide.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(HandshakeFailureReason.PeerClosed, backendSide.Reason);
        }
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData(20, 0)]
    [InlineData(0, 1)]
    public async Task A_fleet_whose_pods_each_get_an_abrupt_CA_switch_after_their_own_delay_fails_no_handshake_with_the_handover(int handoverSeconds, int expectFailures)
    {
        // 2 backend and 3 frontend pods, each its own Secret folder, one clock; kubelet delivers each pod's update
        // (leaf and ca.crt of the new CA together) after its own random delay of 0 to 10 s. Every second, every
        // frontend connects to every backend. With a RootHandover above the spread none fails; with 0 some must.
        var ct = TestContext.Current.CancellationToken;
        var random = new Random(13);
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var time = Issuers.ClockAtRealNow();
        var options = new SecretFolderOptions { PollInterval = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromHours(1), RootHandover = TimeSpan.FromSeconds(handoverSeconds), Environment = new TransportEnvironment { TimeProvider = time } };
        var pods = new List<(KubeletSecretFolder Folder, SecretFolderCertificateSource Source, Dictionary<string, string> Update, int DeliverAt, bool Backend)>();
        foreach (var backend in new[] { true, true, false, false, false })
        {
            var folder = new KubeletSecretFolder(KubeletSecretFolder.Payload(backend ? r1.Backend() : r1.Frontend()));
            pods.Add((folder, SecretFolderCertificateSource.Open(folder.Path, options), KubeletSecretFolder.Payload(backend ? r2.Backend() : r2.Frontend()), random.Next(0, 11), backend));
        }

        var listeners = new List<TransportListener>();
        try
        {
            foreach (var pod in pods.Where(p => p.Backend))
            {
                listeners.Add(TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = pod.Source, AllowedClientIdentities = { "frontend" } }));
            }

            var connectors = pods.Where(p => !p.Backend).Select(p => new TransportConnectorOptions { Certificates = p.Source, ServerIdentity = "localhost" }).ToList();
            var (handshakes, failures) = (0, new List<string>());
            for (var second = 0; second <= (2 * handoverSeconds) + 15; second++)
            {
                foreach (var pod in pods.Where(p => p.DeliverAt == second))
                {
                    pod.Folder.Write(pod.Update);
                }

                time.Advance(TimeSpan.FromSeconds(1));
                foreach (var pod in pods)
                {
                    await pod.Source.Polling.WaitAsync(Guard.HangTimeout, ct);
                }

                foreach (var listener in listeners)
                {
                    foreach (var connector in connectors)
                    {
                        handshakes++;
                        try
                        {
                            await using var link = await Link.ConnectAsync(listener, connector, ct);
                            await link.PingAsync($"second {second}", ct);
                        }
                        catch (Exception ex) when (ex is TransportException or TimeoutException or IOException or Xunit.Sdk.IAssertionException)
                        {
                            failures.Add($"second {second}: {ex.Message}");
                        }
                    }
                }
            }

            TestContext.Current.SendDiagnosticMessage($"RootHandover {handoverSeconds} s: {handshakes} handshakes, {failures.Count} failed; deliveries at {string.Join(", ", pods.Select(p => p.DeliverAt))} s");
            if (expectFailures == 0)
            {
                Assert.True(failures.Count == 0, $"{failures.Count} of {handshakes} handshakes failed: {string.Join(" | ", failures.Take(3))}");
                Assert.All(pods, p => Assert.Equal(r2.Root.Thumbprint, Assert.Single(p.Source.GetTrustBundle()).Thumbprint));
            }
            else
            {
                Assert.NotEmpty(failures); // the control: without the handover, pods that have not reloaded are refused
            }

            Assert.All(pods, p => Assert.Equal(p.Update["tls.crt"].Split('\n')[1], KubeletSecretFolder.Payload(p.Source.GetCurrent())["tls.crt"].Split('\n')[1]));
        }
        finally
        {
            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }

            foreach (var pod in pods)
            {
                pod.Source.Dispose();
                pod.Folder.Dispose();
            }
        }
    }
}
