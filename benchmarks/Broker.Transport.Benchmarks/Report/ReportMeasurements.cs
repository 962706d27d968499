using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// The report's measurements, on the benchmark suite's workloads and connections, in this process: each
/// round measures every path of a workload back to back (in a rotated order), so a round's comparisons share
/// the machine's moment; the rows are medians over the rounds.
/// </summary>
internal static partial class ReportMeasurements
{
    /// <summary>The phases and their steps, for the progress display.</summary>
    public static IReadOnlyList<(string Phase, int Steps)> Phases(ReportOptions options) =>
    [
        (Phase.Integrity, 2),
        (Phase.Throughput, ConnectionCounts.Length * options.Rounds * Payloads.Names.Length),
        (Phase.Latency, options.Rounds),
        (Phase.Connect, (HandshakeAlgorithms.Length + 1) * options.Rounds),
        (Phase.Mqtt, MqttWorkloads.Length * options.Rounds),
    ];

    /// <summary>Connection counts of the throughput tables: one, and several sending at once.</summary>
    public static readonly int[] ConnectionCounts = [1, 4];

    /// <summary>The leaf algorithms the report's connection-setup table covers (the suite has all of them).</summary>
    public static readonly PrivateKeyAlgorithm[] HandshakeAlgorithms = [PrivateKeyAlgorithm.Ec256, PrivateKeyAlgorithm.Rsa2048];

    private static readonly ThroughputPath[] Paths = [ThroughputPath.Disabled, ThroughputPath.Enabled, ThroughputPath.SslStream, ThroughputPath.Socket];

    /// <summary>The payloads the sidecar pair runs too (with the ping-pong): bulk and small frames, not every size.</summary>
    public static readonly string[] SidecarPayloads = ["256B", "64KiB"];

    /// <summary>The group (table) names.</summary>
    public static class Group
    {
        /// <summary>Throughput over <paramref name="connections"/> connection(s).</summary>
        public static string Throughput(int connections) => connections == 1
            ? "Throughput, one connection (MB/s of payload, one flush per frame)"
            : string.Create(CultureInfo.InvariantCulture, $"Throughput, {connections} connections at once (MB/s of payload, in all)");

        /// <summary>The ping-pong table.</summary>
        public const string Latency = "Latency, 256-byte ping-pong (microseconds per round trip)";

        /// <summary>The connection-setup table.</summary>
        public const string Connect = "Connection setup: connect + mutual handshake (milliseconds per connection)";
    }

    /// <summary>The phase names.</summary>
    public static class Phase
    {
        /// <summary>The echo check of both modes.</summary>
        public const string Integrity = "Integrity";

        /// <summary>The frame-size workloads.</summary>
        public const string Throughput = "Throughput";

        /// <summary>The ping-pong.</summary>
        public const string Latency = "Latency";

        /// <summary>Handshakes, and handshakes while rotating.</summary>
        public const string Connect = "Connection setup";

        /// <summary>MQTT clients through the two-tier sample and through one broker.</summary>
        public const string Mqtt = "MQTT, end to end";
    }

    /// <summary>
    /// The throughput tables: every payload of <see cref="Payloads.Names"/> over each path, on one connection
    /// and on several, batches repeated for at least <see cref="ReportOptions.MinSampleTime"/> per measurement.
    /// </summary>
    public static async Task<List<ReportRow>> ThroughputAsync(ReportOptions options, ReportProgress progress)
    {
        using var issuer = TlsLoopback.StartIssuer();
        await using var sidecar = options.Stunnel is null ? null : await SidecarLoopback.StartMatchingEnabledAsync(options.Stunnel, issuer);
        var rows = new List<ReportRow>();
        foreach (var connections in ConnectionCounts)
        {
            var lanes = new Dictionary<ThroughputPath, ThroughputLanes>();
            foreach (var path in Paths)
            {
                lanes[path] = await ThroughputLanes.OpenAsync(path, connections, issuer);
            }

            if (sidecar is not null)
            {
                lanes[ThroughputPath.Sidecar] = await ThroughputLanes.OverSidecarAsync(sidecar, connections);
            }

            var sets = Payloads.Names.Select(name => Payloads.Get(name, options.Shrink)).ToArray();
            var paths = sets.Select(set => PathsOf(set, sidecar is not null)).ToArray();
            var samples = sets.Select(set => new RowSamples(Group.Throughput(connections), set.Label, RowKind.Throughput, set.Bytes)
            {
                SidecarAbsent = SidecarPayloads.Contains(set.Name) && sidecar is null ? StunnelPair.NotInstalled : null,
            }).ToArray();

            // Warm-up, not kept: JIT and tiering, pools, TCP windows.
            for (var s = 0; s < sets.Length; s++)
            {
                foreach (var path in paths[s])
                {
                    await lanes[path].SendAsync(sets[s]);
                }
            }

            for (var round = 0; round < options.Rounds; round++)
            {
                for (var s = 0; s < sets.Length; s++)
                {
                    foreach (var path in Rotated(paths[s], round + s))
                    {
                        var set = sets[s];
                        samples[s].Add(path, await SecondsPerOperationAsync(() => lanes[path].SendAsync(set), 1, options.MinSampleTime));
                    }

                    progress.Step(Phase.Throughput, string.Create(CultureInfo.InvariantCulture, $"{connections} connection(s), {sets[s].Label}, round {round + 1}/{options.Rounds}"));
                }
            }

            foreach (var lane in lanes.Values)
            {
                await lane.DisposeAsync();
            }

            rows.AddRange(samples.Select(s => s.ToRow()));
        }

        return rows;
    }

    /// <summary>
    /// The ping-pong of <see cref="LatencyBenchmarks"/>: per round and path, <see cref="ReportOptions.RoundTrips"/>
    /// single round trips timed one by one; rows for their mean, median and 99th percentile.
    /// </summary>
    public static async Task<List<ReportRow>> LatencyAsync(ReportOptions options, ReportProgress progress)
    {
        var bench = new LatencyBenchmarks();
        await bench.SetupAsync();
        var variants = new Dictionary<ThroughputPath, Func<ValueTask<bool>>>
        {
            [ThroughputPath.Disabled] = bench.Disabled_256B_round_trip,
            [ThroughputPath.Enabled] = bench.Enabled_256B_round_trip,
            [ThroughputPath.SslStream] = bench.SslStream_256B_round_trip,
            [ThroughputPath.Socket] = bench.Socket_256B_round_trip,
        };
        await using var sidecar = options.Stunnel is null ? null : await SidecarEcho.StartAsync(options.Stunnel);
        if (sidecar is not null)
        {
            variants[ThroughputPath.Sidecar] = sidecar.RoundTripAsync;
        }

        var paths = variants.Keys.ToArray();
        var absent = sidecar is null ? StunnelPair.NotInstalled : null;
        var mean = new RowSamples(Group.Latency, "mean", RowKind.Latency) { SidecarAbsent = absent };
        var p50 = new RowSamples(Group.Latency, "median (P50)", RowKind.Latency) { SidecarAbsent = absent };
        var p99 = new RowSamples(Group.Latency, "99th percentile (P99)", RowKind.Latency) { SidecarAbsent = absent };
        foreach (var variant in variants.Values)
        {
            for (var i = 0; i < options.WarmupRoundTrips; i++)
            {
                await RoundTripAsync(variant);
            }
        }

        var times = new double[options.RoundTrips];
        for (var round = 0; round < options.Rounds; round++)
        {
            foreach (var path in Rotated(paths, round))
            {
                for (var i = 0; i < times.Length; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await RoundTripAsync(variants[path]);
                    times[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
                }

                Array.Sort(times);
                mean.Add(path, times.Average());
                p50.Add(path, times[times.Length / 2]);
                p99.Add(path, times[Math.Min(times.Length - 1, (int)Math.Ceiling(times.Length * 0.99) - 1)]);
            }

            progress.Step(Phase.Latency, string.Create(CultureInfo.InvariantCulture, $"round {round + 1}/{options.Rounds}, {times.Length:N0} round trips per path"));
        }

        await bench.CleanupAsync();
        return [mean.ToRow(), p50.ToRow(), p99.ToRow()];
    }

    private static async ValueTask RoundTripAsync(Func<ValueTask<bool>> roundTrip)
    {
        if (!await roundTrip())
        {
            throw new InvalidOperationException("The echo ended before the round trip came back.");
        }
    }

    /// <summary>Runs <paramref name="operation"/> at least <paramref name="minOperations"/> times and for at least <paramref name="minTime"/>; seconds per operation.</summary>
    private static async Task<double> SecondsPerOperationAsync(Func<ValueTask> operation, int minOperations, TimeSpan minTime)
    {
        var started = Stopwatch.GetTimestamp();
        var operations = 0;
        TimeSpan elapsed;
        do
        {
            await operation();
            operations++;
            elapsed = Stopwatch.GetElapsedTime(started);
        }
        while (operations < minOperations || elapsed < minTime);

        return elapsed.TotalSeconds / operations;
    }

    /// <summary>The paths <paramref name="set"/> runs on: all four, and the sidecar pair for <see cref="SidecarPayloads"/> when it can run.</summary>
    private static ThroughputPath[] PathsOf(PayloadSet set, bool sidecar)
        => sidecar && SidecarPayloads.Contains(set.Name) ? [.. Paths, ThroughputPath.Sidecar] : Paths;

    /// <summary>The paths starting at a different one each round, so no path always runs first (or right after another).</summary>
    private static IEnumerable<ThroughputPath> Rotated(ThroughputPath[] paths, int shift)
        => Enumerable.Range(0, paths.Length).Select(i => paths[(i + shift) % paths.Length]);
}
