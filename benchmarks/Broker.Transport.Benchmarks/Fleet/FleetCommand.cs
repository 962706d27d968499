using System.Globalization;
using System.Text.Json;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// <c>fleet [--backends 3] [--frontends 4] [--kubelet-delay 10s] [--duration 60s] [--scenario NAME] [--short] [--json FILE]</c>:
/// many pods on one machine, as separate processes on loopback, under cert-manager's renewals and kubelet's delays
/// (see <see cref="FleetRun"/>). A row per scenario; the exit code is 1 when a scenario that must lose nothing
/// (all but the RootHandover 0 control) had a failed handshake or a lost frame.
/// </summary>
internal static class FleetCommand
{
    private static readonly Dictionary<string, FleetScenario> Names = new(StringComparer.Ordinal)
    {
        ["renewals"] = FleetScenario.LeafRenewals,
        ["runbook"] = FleetScenario.RootRotationByRunbook,
        ["abrupt"] = FleetScenario.AbruptSwitch,
        ["abrupt-no-handover"] = FleetScenario.AbruptSwitchNoHandover,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--short");
        var backends = (int)Arguments.Number(args, "--backends", 3);
        var frontends = (int)Arguments.Number(args, "--frontends", 4);
        var timings = new FleetTimings(
            Arguments.Duration(args, "--kubelet-delay", quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10)),
            Arguments.Duration(args, "--duration", quick ? TimeSpan.FromSeconds(6) : TimeSpan.FromSeconds(60)),
            quick);
        var picked = Arguments.Text(args, "--scenario");
        if (picked is not null && !Names.ContainsKey(picked))
        {
            await Console.Error.WriteLineAsync($"--scenario: '{picked}' is none of {string.Join(", ", Names.Keys)}.");
            return 2;
        }

        var scenarios = picked is null ? [.. Names.Values] : new[] { Names[picked] };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fleet: {backends} backend and {frontends} frontend pods as processes on loopback, per scenario at least {S(timings.Duration)}; kubelet delivers each pod's update 0 to {S(timings.KubeletDelay)} after it is published "
            + $"(standing in for kubelet's sync period and cache delay, a minute or more); leaves of {S(timings.LeafDuration)} renewed every {S(timings.RenewEvery)} with a new key; "
            + $"RootHandover {S(timings.RootHandover)} (it must exceed the kubelet delay: 1.5 x it plus two polls of {S(timings.Poll)}); DrainGrace {S(timings.DrainGrace)}; "
            + $"frames of 64 B every {timings.FrameEvery.TotalMilliseconds:0} ms on each of the {backends * frontends} frontend-backend streams; a probe handshake on each every {S(timings.ProbeEvery)}."));
        var rows = new List<FleetRow>();
        foreach (var scenario in scenarios)
        {
            Console.WriteLine($"running: {FleetRow.Name(scenario)}");
            rows.Add(await FleetRun.RunAsync(scenario, timings, backends, frontends));
        }

        Print(rows);
        if (Arguments.Text(args, "--json") is { } json)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(rows.Select(r => new
            {
                Scenario = r.Scenario.ToString(),
                r.Handshakes,
                r.FailedHandshakes,
                r.FramesSent,
                r.FramesVerified,
                r.Lost,
                r.Corrupt,
                r.Drains,
                r.Reconnects,
                r.HandOvers,
                r.SlowestConnectMs,
                r.Errors,
            })));
        }

        var failed = rows.Where(r => !r.Holds).ToList();
        foreach (var row in failed)
        {
            Console.WriteLine($"FAILED: {FleetRow.Name(row.Scenario)} must fail no handshake and lose no frame.");
        }

        return failed.Count == 0 ? 0 : 1;
    }

    private static void Print(List<FleetRow> rows)
    {
        var cells = rows.Select(r => r.Cells()).Prepend(FleetRow.Headers).ToList();
        var widths = Enumerable.Range(0, FleetRow.Headers.Length).Select(c => cells.Max(r => r[c].Length)).ToArray();
        Console.WriteLine();
        foreach (var (row, index) in cells.Select((r, i) => (r, i)))
        {
            Console.WriteLine("| " + string.Join(" | ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))) + " |");
            if (index == 0)
            {
                Console.WriteLine("| " + string.Join(" | ", widths.Select((w, c) => c == 0 ? new string('-', w) : new string('-', w - 1) + ":")) + " |");
            }
        }

        Console.WriteLine("* after each stream's first connect, which a fresh process's warm-up (JIT, OpenSSL's first handshake) slows; handshakes count the links' and the probes', failed ones those the frontends saw refused (at connect or at the first read).");
        foreach (var row in rows.Where(r => r.Errors.Count > 0))
        {
            Console.WriteLine();
            Console.WriteLine($"{FleetRow.Name(row.Scenario)}, first warnings and errors (the pods' own log warnings, then what they counted):");
            foreach (var error in row.Errors)
            {
                Console.WriteLine("  " + error);
            }
        }
    }

    private static string S(TimeSpan t) => t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
