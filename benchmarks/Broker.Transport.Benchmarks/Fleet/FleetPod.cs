using System.Text.Json;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// <c>fleet-pod ...</c>: one pod of the fleet, started by <see cref="FleetCommand"/> as a process of its own. Its
/// first line is <c>ready</c> (a backend: <c>ready PORT</c>); it runs until a line <c>stop</c> (or the end of its
/// standard input), then prints <c>report {json}</c> (<see cref="PodReport"/>) and exits.
/// </summary>
internal static class FleetPod
{
    public const string Command = "fleet-pod";

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = PodSettings.Parse(args);
        var stop = Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync() is { } line && line != "stop")
            {
            }
        });
        var report = settings.Backend ? await FleetBackend.RunAsync(settings, stop) : await FleetFrontend.RunAsync(settings, stop);
        Console.WriteLine("report " + JsonSerializer.Serialize(report));
        return 0;
    }
}
