using System.Diagnostics;
using System.Globalization;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>pingpong [count] [name part]</c>: the round trips of <see cref="LatencyBenchmarks"/> in this process,
/// outside BenchmarkDotNet, the variants interleaved in rounds of 100 so that they share the machine's
/// moments of load. Says each variant's P50, P95 and CPU time per round trip: a quick way to compare two
/// builds, or to run under <c>strace -f</c> or <c>perf</c>.
/// </summary>
internal static class LatencyProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
        var filter = args.Length > 1 ? args[1] : string.Empty;
        var bench = new LatencyBenchmarks();
        await bench.SetupAsync();
        (string Name, Func<ValueTask<bool>> Run)[] variants =
        [
            (nameof(bench.Disabled_256B_round_trip), bench.Disabled_256B_round_trip),
            (nameof(bench.Enabled_256B_round_trip), bench.Enabled_256B_round_trip),
            (nameof(bench.Socket_256B_round_trip), bench.Socket_256B_round_trip),
            (nameof(bench.SslStream_256B_round_trip), bench.SslStream_256B_round_trip),
        ];
        variants = [.. variants.Where(v => v.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))];
        var samples = variants.Select(_ => new List<double>(count)).ToArray();
        var cpu = new TimeSpan[variants.Length];
        for (var done = -500; done < count; done += 100)
        {
            // The first 500 of each are warm-up and not kept.
            for (var v = 0; v < variants.Length; v++)
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < 100; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await variants[v].Run();
                    if (done >= 0)
                    {
                        samples[v].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    }
                }

                if (done >= 0)
                {
                    cpu[v] += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                }
            }
        }

        for (var v = 0; v < variants.Length; v++)
        {
            var sorted = samples[v].Order().ToList();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{variants[v].Name,-28} P50 {sorted[sorted.Count / 2],7:F1} us  P95 {sorted[sorted.Count * 95 / 100],7:F1} us  CPU {cpu[v].TotalMicroseconds / sorted.Count,6:F1} us per round trip"));
        }

        await bench.CleanupAsync();
        return 0;
    }
}
