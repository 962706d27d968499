using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>suites [rounds]</c>: the cipher suite benchmarks' workloads (<see cref="CipherSuiteThroughputBenchmarks"/>,
/// <see cref="CipherSuiteHandshakeBenchmarks"/>) in this process, the suites interleaved in rounds (rotated, so
/// none always runs first) so that they share the machine's moments of load, which on this shared machine
/// swing more between BenchmarkDotNet's sequential cases than the suites differ. Says, per suite, the median
/// MB/s and CPU time per MB of 64 KiB and 256 B frames, and the median of each round's ratio against
/// TLS_AES_256_GCM_SHA384 alone; then milliseconds per full and resumed handshake.
/// </summary>
internal static class CipherSuiteProbe
{
    private static readonly TimeSpan MinSample = TimeSpan.FromMilliseconds(150);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        var choices = CipherSuiteChoices.All.ToArray();
        var reference = Array.IndexOf(choices, nameof(TlsCipherSuite.TLS_AES_256_GCM_SHA384));
        Console.WriteLine($"suites: {rounds} rounds, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        using var issuer = TlsLoopback.StartIssuer();
        var lanes = new ThroughputLanes[choices.Length];
        for (var c = 0; c < choices.Length; c++)
        {
            var suites = CipherSuiteChoices.Option(choices[c]);
            lanes[c] = await ThroughputLanes.OverTransportAsync(async () => await TlsLoopback.ConnectTransportAsync(issuer, suites), 1);
        }

        foreach (var payload in new[] { "64KiB", "256B" })
        {
            var set = Payloads.Get(payload);
            var wall = choices.Select(_ => new List<double>()).ToArray();
            var cpu = choices.Select(_ => new List<double>()).ToArray();
            foreach (var lane in lanes)
            {
                await lane.SendAsync(set);
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var c in Enumerable.Range(0, choices.Length).Select(i => (i + round) % choices.Length))
                {
                    var (seconds, cpuSeconds) = await MeasureAsync(() => lanes[c].SendAsync(set), MinSample);
                    wall[c].Add(seconds / set.Bytes);
                    cpu[c].Add(cpuSeconds / set.Bytes);
                }
            }

            Console.WriteLine($"{payload} frames, one connection (MB/s of payload; CPU ms per MB, both ends; vs AES-256: median of each round's time ratio, above 1 = faster):");
            for (var c = 0; c < choices.Length; c++)
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {choices[c],-30} {1e-6 / Median(wall[c]),7:F0} MB/s  {Median(cpu[c]) * 1e9,6:F2} CPU ms/MB  wall x{Median(wall[reference].Zip(wall[c], (r, x) => r / x)),5:F3}  CPU x{Median(cpu[reference].Zip(cpu[c], (r, x) => r / x)),5:F3}"));
            }
        }

        foreach (var lane in lanes)
        {
            await lane.DisposeAsync();
        }

        await HandshakesAsync(choices, rounds);
        Console.WriteLine($"load average at the end {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static async Task HandshakesAsync(string[] choices, int rounds)
    {
        var (backend, frontend) = TlsLoopback.SharedKeyPki(PrivateKeyAlgorithm.Ec256);
        var listeners = new TransportListener[choices.Length];
        var resumed = new TransportConnector[choices.Length];
        for (var c = 0; c < choices.Length; c++)
        {
            var suites = CipherSuiteChoices.Option(choices[c]);
            listeners[c] = TlsLoopback.Listen(backend, suites);
            resumed[c] = TlsLoopback.Connector(frontend, TlsLoopback.ServerIdentity, suites);
        }

        Func<ValueTask> Full(int c) => () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(TlsLoopback.Connector(frontend, TlsLoopback.FreshName(), CipherSuiteChoices.Option(choices[c])), listeners[c]));
        Func<ValueTask> Resumed(int c) => () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(resumed[c], listeners[c]));
        var full = choices.Select(_ => new List<double>()).ToArray();
        var again = choices.Select(_ => new List<double>()).ToArray();
        for (var round = -1; round < rounds; round++)
        {
            foreach (var c in Enumerable.Range(0, choices.Length).Select(i => (i + round + 1) % choices.Length))
            {
                var (f, _) = await MeasureAsync(Full(c), TimeSpan.FromMilliseconds(100));
                var (r, _) = await MeasureAsync(Resumed(c), TimeSpan.FromMilliseconds(100));
                if (round >= 0)
                {
                    full[c].Add(f);
                    again[c].Add(r);
                }
            }
        }

        Console.WriteLine("Connect + mutual handshake, Ec256 (ms per connection, median of rounds):");
        for (var c = 0; c < choices.Length; c++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {choices[c],-30} full {Median(full[c]) * 1e3,5:F2} ms  same name again (resumed when a session is kept) {Median(again[c]) * 1e3,5:F2} ms"));
            await listeners[c].DisposeAsync();
        }
    }

    /// <summary>Runs <paramref name="operation"/> until at least <paramref name="minTime"/> passed; wall and process CPU seconds per operation.</summary>
    private static async Task<(double Seconds, double CpuSeconds)> MeasureAsync(Func<ValueTask> operation, TimeSpan minTime)
    {
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        var operations = 0;
        do
        {
            await operation();
            operations++;
        }
        while (Stopwatch.GetElapsedTime(started) < minTime);

        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        return (elapsed / operations, cpu / operations);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
