using System.Text.Json;

namespace Broker.Transport.Fleet.Tests;

/// <summary>
/// The fleet's short run: 3 backend and 4 frontend pods as real processes on loopback, each with its own Secret
/// folder written as kubelet writes it, through leaf renewals, a root rotation by the runbook, and an abrupt CA
/// switch with and without the root handover.
/// </summary>
public sealed class FleetTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Renewals_a_runbook_rotation_and_an_abrupt_switch_with_the_handover_fail_no_handshake_and_lose_no_frame_and_without_it_handshakes_fail()
    {
        var json = Path.Combine(Path.GetTempPath(), $"fleet-{Guid.NewGuid():N}.json");
        var benchmarks = Path.Combine(AppContext.BaseDirectory, "Broker.Transport.Benchmarks.dll");
        await using var fleet = ChildProcess.Start("dotnet", [benchmarks, "fleet", "--short", "--json", json]);
        var exit = await fleet.WaitForExitAsync(TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, fleet.Transcript);

        using var rows = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken));
        File.Delete(json);
        var byScenario = rows.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("Scenario").GetString()!);
        Assert.Equal(["LeafRenewals", "RootRotationByRunbook", "AbruptSwitch", "AbruptSwitchNoHandover"], byScenario.Keys);
        foreach (var scenario in new[] { "LeafRenewals", "RootRotationByRunbook", "AbruptSwitch" })
        {
            var row = byScenario[scenario];
            Assert.True(row.GetProperty("FailedHandshakes").GetInt64() == 0, $"{scenario}: {row}\n{fleet.Output}");
            Assert.True(row.GetProperty("Lost").GetInt64() == 0 && row.GetProperty("Corrupt").GetInt64() == 0, $"{scenario}: {row}\n{fleet.Output}");
            Assert.True(row.GetProperty("FramesSent").GetInt64() > 1000, $"{scenario}: frames must flow on every stream: {row}");
            Assert.True(row.GetProperty("Handshakes").GetInt64() > 50, $"{scenario}: {row}");
        }

        // Leaves of a few seconds drain their connections, and the frontends' keepers hand each over to a successor.
        Assert.True(byScenario["LeafRenewals"].GetProperty("Drains").GetInt64() > 0, fleet.Output);
        Assert.True(byScenario["LeafRenewals"].GetProperty("HandOvers").GetInt64() > 0, fleet.Output);

        // The control: with RootHandover 0, pods that have not reloaded refuse those that have (the table's point).
        var control = byScenario["AbruptSwitchNoHandover"];
        Assert.True(control.GetProperty("FailedHandshakes").GetInt64() > 0, $"RootHandover 0 failed no handshake: {control}\n{fleet.Output}");
        Assert.Contains("does not chain to the internal trust bundle", control.GetProperty("Errors").ToString(), StringComparison.Ordinal);
        Assert.Contains("| abrupt CA switch, handover on    |", fleet.Output, StringComparison.Ordinal);
    }
}
