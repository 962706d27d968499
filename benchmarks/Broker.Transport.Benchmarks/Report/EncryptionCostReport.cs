using System.Diagnostics;
using System.Globalization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// <c>report [--quick] [--rounds N] [--out DIR]</c>: what encryption costs this transport on this machine, in
/// about two minutes (<c>--quick</c>: seconds). Checks that both modes carry every byte intact, then measures throughput by frame size
/// (one connection and four), 256-byte ping-pong latency and connection setup, each Disabled, Enabled, over
/// the naive SslStream, (where it applies) a plain socket and (for 256 B and 64 KiB frames and the ping-pong,
/// when stunnel is installed) the sidecar pair, in interleaved rounds; prints a table per
/// workload group and writes Markdown, CSV, JSON and a chart into a folder it names at the end.
/// Exit code 0 when all went well, 1 when a byte came back different or a workload failed, 2 on bad arguments.
/// </summary>
internal static class EncryptionCostReport
{
    public static async Task<int> RunAsync(string[] args)
    {
        ReportOptions options;
        try
        {
            options = ReportOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        options = options with { Stunnel = StunnelPair.FindExecutable() };
        var sidecar = StunnelPair.NotInstalled;
        if (options.Stunnel is not null)
        {
            using var issuer = TlsLoopback.StartIssuer();
            sidecar = $"{StunnelPair.Describe(options.Stunnel)}, {options.Stunnel}, {await SidecarLoopback.EnabledSuiteAsync(issuer)}";
        }

        var started = DateTimeOffset.UtcNow;
        var folder = Path.GetFullPath(options.OutputFolder ?? Path.Combine("artifacts", "encryption-cost", started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        var machine = MachineInfo.Read();
        var command = "dotnet run -c Release --project benchmarks/Broker.Transport.Benchmarks -- report" + (args.Length > 0 ? " " + string.Join(' ', args) : string.Empty);
        Console.WriteLine($"Broker.Transport: the cost of encryption{(options.Quick ? " (quick run: numbers mean nothing)" : string.Empty)}");
        Console.WriteLine($"  {machine.Describe()}; {machine.Load()}");
        Console.WriteLine($"  sidecar pair: {sidecar}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {options.Rounds} rounds of every workload; {ReportMeasurements.Describe(ReportMeasurements.Estimate(options))} of measurement (estimated from what will run, at the pace of a 2-core machine)"));

        var clock = Stopwatch.StartNew();
        var (integrity, rows, mqtt) = await ReportProgress.RunAsync(ReportMeasurements.Phases(options), async progress =>
        {
            var integrity = await ReportMeasurements.IntegrityAsync(options, progress);
            if (integrity.Any(i => !i.Ok))
            {
                return (integrity, new List<ReportRow>(), new List<MqttRow>());
            }

            var rows = await ReportMeasurements.ThroughputAsync(options, progress);
            rows.AddRange(await ReportMeasurements.LatencyAsync(options, progress));
            rows.AddRange(await ReportMeasurements.ConnectAsync(options, progress));
            var mqtt = await ReportMeasurements.MqttAsync(options, progress);
            return (integrity, rows, mqtt);
        });
        clock.Stop();

        if (integrity.FirstOrDefault(i => !i.Ok) is { } failed)
        {
            Console.Error.WriteLine($"Integrity check FAILED ({failed.Mode}): {failed.Mismatch ?? $"{failed.Verified} of {failed.Frames} frames came back"}. Nothing was measured.");
            return 1;
        }

        var result = new ReportResult(started, command, options.Quick, machine with { LoadAverageAfter = MachineInfo.LoadAverage() }, integrity, rows, mqtt, clock.Elapsed, sidecar);
        ReportConsole.Print(result);
        Directory.CreateDirectory(folder);
        ReportFiles.Write(result, folder);
        ReportChart.Write(result, folder);
        Console.WriteLine();
        Console.WriteLine($"Written to {folder}: report.md, results.csv, mqtt.csv, results.json, chart.png, chart.svg");
        return 0;
    }
}
