using System.Diagnostics;
using System.Globalization;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>The fleet's scenarios, one table row each.</summary>
internal enum FleetScenario
{
    /// <summary>cert-manager renews every leaf (a new key each time), kubelet delivers each pod's after its own delay.</summary>
    LeafRenewals,

    /// <summary>The runbook: the new root into the bundle, then leaves from it, then the old root out; leaves renewing throughout.</summary>
    RootRotationByRunbook,

    /// <summary>The CA switched at once: each pod's leaf and ca.crt change together; the root handover bridges it.</summary>
    AbruptSwitch,

    /// <summary>The same with RootHandover 0 (the emergency setting): what the handover saves.</summary>
    AbruptSwitchNoHandover,
}

/// <summary>One scenario's row: what every pod reported, added up.</summary>
internal sealed record FleetRow(
    FleetScenario Scenario,
    TimeSpan Took,
    long Handshakes,
    long FailedHandshakes,
    long FramesSent,
    long FramesVerified,
    long Corrupt,
    long Drains,
    long Reconnects,
    long HandOvers,
    double SlowestConnectMs,
    IReadOnlyList<string> Errors)
{
    public long Lost => FramesSent - FramesVerified;

    /// <summary>Whether the row holds what the scenario promises: no failed handshake and no lost or corrupt frame, but for the control.</summary>
    public bool Holds => Scenario == FleetScenario.AbruptSwitchNoHandover || (FailedHandshakes == 0 && Lost == 0 && Corrupt == 0);

    public static string Name(FleetScenario scenario) => scenario switch
    {
        FleetScenario.LeafRenewals => "leaf renewals",
        FleetScenario.RootRotationByRunbook => "root rotation by the runbook",
        FleetScenario.AbruptSwitch => "abrupt CA switch, handover on",
        _ => "abrupt CA switch, RootHandover 0",
    };

    public string[] Cells() =>
    [
        Name(Scenario),
        Took.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s",
        N(Handshakes), N(FailedHandshakes), N(FramesSent), N(FramesVerified), N(Lost + Corrupt), N(Drains), N(Reconnects), N(HandOvers),
        SlowestConnectMs.ToString("0", CultureInfo.InvariantCulture) + " ms",
    ];

    public static readonly string[] Headers = ["scenario", "ran", "handshakes", "failed handshakes", "frames sent", "frames verified", "lost or corrupt", "drains", "reconnects", "hand-overs", "slowest connect*"];

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>
/// One scenario on a fresh fleet: B backend and F frontend pods as processes, each with its own Secret folder (and,
/// for the first two scenarios, its own trust bundle folder, as a trust-manager ConfigMap), cert-manager renewing
/// every leaf every few seconds, kubelet delivering each pod's updates after its own delay.
/// </summary>
internal sealed class FleetRun
{
    private readonly FleetScenario _scenario;
    private readonly FleetTimings _timings;
    private readonly List<(PodSettings Pod, Kubelet Secret, Kubelet? Bundle)> _pods = [];
    private readonly CertManager _certManager;

    private FleetRun(FleetScenario scenario, FleetTimings timings, CertManager certManager)
    {
        _scenario = scenario;
        _timings = timings;
        _certManager = certManager;
    }

    private bool UsesBundle => _scenario is FleetScenario.LeafRenewals or FleetScenario.RootRotationByRunbook;

    private TimeSpan RootHandover => _scenario == FleetScenario.AbruptSwitchNoHandover ? TimeSpan.Zero : _timings.RootHandover;

    public static async Task<FleetRow> RunAsync(FleetScenario scenario, FleetTimings timings, int backends, int frontends)
    {
        var root = Directory.CreateTempSubdirectory("broker-fleet-").FullName;
        using var certManager = new CertManager(timings.LeafDuration);
        var run = new FleetRun(scenario, timings, certManager);
        var processes = new List<FleetProcess>();

        // cert-manager renews from the moment the first pod's Secret exists: pods take seconds to start on a loaded
        // machine, longer than the first leaves would last otherwise.
        using var stopRenewing = new CancellationTokenSource();
        var renewing = Task.CompletedTask;
        try
        {
            var clock = Stopwatch.StartNew();
            var backendPorts = new List<(string, int)>();
            for (var j = 0; j < backends; j++)
            {
                var pod = run.Mount(root, backend: true, j, []);
                if (j == 0)
                {
                    renewing = run.RenewAsync(stopRenewing.Token);
                }

                var (process, ready) = await FleetProcess.StartAsync(pod);
                processes.Add(process);
                backendPorts.Add((PodSettings.BackendName(j), int.Parse(ready["ready ".Length..], CultureInfo.InvariantCulture)));
            }

            var starting = Enumerable.Range(0, frontends).Select(i => FleetProcess.StartAsync(run.Mount(root, backend: false, i, backendPorts))).ToList();
            processes.AddRange((await Task.WhenAll(starting)).Select(p => p.Process));

            await run.DriveAsync();
            await stopRenewing.CancelAsync();
            await renewing;
            await Task.WhenAll(run.Pods().Select(p => p.Secret.SettledAsync()).Concat(run.Pods().Where(p => p.Bundle is not null).Select(p => p.Bundle!.SettledAsync())));

            // Frontends first, so that every frame they sent is answered; then the backends' counts.
            var reports = new List<PodReport>();
            foreach (var process in processes.Skip(backends))
            {
                reports.Add(await process.StopAsync());
            }

            foreach (var process in processes.Take(backends))
            {
                reports.Add(await process.StopAsync());
            }

            return Row(scenario, clock.Elapsed, reports[..frontends], reports[frontends..], [.. processes.SelectMany(p => p.Warnings())]);
        }
        finally
        {
            await stopRenewing.CancelAsync();
            await renewing;
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static FleetRow Row(FleetScenario scenario, TimeSpan took, List<PodReport> frontends, List<PodReport> backends, List<string> warnings) => new(
        scenario,
        took,
        frontends.Sum(f => f.Handshakes),
        frontends.Sum(f => f.FailedHandshakes),
        frontends.Sum(f => f.Frames.Values.Sum()),
        backends.Sum(b => b.Frames.Values.Sum()),
        backends.Sum(b => b.Corrupt + b.Gaps),
        frontends.Concat(backends).Sum(p => p.Drains),
        frontends.Sum(f => f.Reconnects),
        frontends.Sum(f => f.HandOvers),
        frontends.Count == 0 ? 0 : frontends.Max(f => f.SlowestConnectMs),
        [.. warnings.Take(8).Concat(backends.Concat(frontends).SelectMany(p => p.Errors.Select(e => $"{p.Pod}: {e}")).Take(12))]);

    /// <summary>A pod's folders, mounted with their first content, and its settings.</summary>
    private PodSettings Mount(string root, bool backend, int index, IReadOnlyList<(string, int)> backends)
    {
        var name = $"{(backend ? "backend" : "frontend")}-{index}";
        var secret = new Kubelet(Path.Combine(root, name, "secret"), _timings.KubeletDelay);
        var bundle = UsesBundle ? new Kubelet(Path.Combine(root, name, "trust-bundle"), _timings.KubeletDelay) : null;
        var pod = new PodSettings(backend, index, secret.Folder, bundle?.Folder, _timings.Poll, RootHandover, _timings.DrainGrace, _timings.ProbeEvery, _timings.FrameEvery, backends);
        secret.Mount(_certManager.Issue(pod));
        bundle?.Mount(CertManager.Bundle(_certManager.Issuer));
        lock (_pods)
        {
            _pods.Add((pod, secret, bundle));
        }

        return pod;
    }

    private (PodSettings Pod, Kubelet Secret, Kubelet? Bundle)[] Pods()
    {
        lock (_pods)
        {
            return [.. _pods];
        }
    }

    /// <summary>cert-manager renews every pod's leaf every RenewEvery, from whichever CA issues now.</summary>
    private async Task RenewAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_timings.RenewEvery, stop);
                RenewAll();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void RenewAll()
    {
        foreach (var (pod, secret, _) in Pods())
        {
            secret.Publish(_certManager.Issue(pod));
        }
    }

    private void PublishBundle(params System.Security.Cryptography.X509Certificates.X509Certificate2[] roots)
    {
        foreach (var (_, _, bundle) in Pods())
        {
            bundle!.Publish(CertManager.Bundle(roots));
        }
    }

    /// <summary>The scenario's own steps, then long enough for what they cause to settle, and at least --duration.</summary>
    private async Task DriveAsync()
    {
        var clock = Stopwatch.StartNew();
        var lead = _timings.Short ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);
        await Task.Delay(lead);
        var oldRoot = _certManager.Issuer;
        switch (_scenario)
        {
            case FleetScenario.RootRotationByRunbook:
                var next = _certManager.NewRoot();
                PublishBundle(oldRoot, next);
                await Task.Delay(_timings.StepWait);
                _certManager.Issuer = next;
                RenewAll();
                await Task.Delay(_timings.StepWait);
                PublishBundle(next);
                break;
            case FleetScenario.AbruptSwitch or FleetScenario.AbruptSwitchNoHandover:
                _certManager.Issuer = _certManager.NewRoot();
                RenewAll();
                break;
        }

        var rest = _scenario == FleetScenario.LeafRenewals ? TimeSpan.Zero : _timings.Settle;
        var until = TimeSpan.FromTicks(Math.Max(_timings.Duration.Ticks, (clock.Elapsed + rest).Ticks));
        await Task.Delay(until - clock.Elapsed);
    }
}
