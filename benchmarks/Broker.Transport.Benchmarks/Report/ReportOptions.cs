using System.Globalization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// How long the report measures: the full run (about two minutes of measurement on 2 cores) or
/// <c>--quick</c> (seconds: every workload once or twice on small batches, for CI; its numbers mean nothing).
/// </summary>
internal sealed record ReportOptions
{
    /// <summary>The full run's rounds: the medians are of this many same-moment comparisons.</summary>
    public const int DefaultRounds = 5;

    /// <summary>Whether this is the quick (CI) run.</summary>
    public bool Quick { get; init; }

    /// <summary>Rounds of every workload, interleaved so each round's paths share the machine's moment.</summary>
    public int Rounds { get; init; } = DefaultRounds;

    /// <summary>Throughput: batches are repeated for at least this long per measurement.</summary>
    public TimeSpan MinSampleTime { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Throughput: batches are this many times smaller than the benchmark suite's.</summary>
    public int Shrink { get; init; } = 1;

    /// <summary>Latency: round trips per path and round, after <see cref="WarmupRoundTrips"/>.</summary>
    public int RoundTrips { get; init; } = 1000;

    /// <summary>Latency: round trips per path before the first round, not kept.</summary>
    public int WarmupRoundTrips { get; init; } = 500;

    /// <summary>Connection setup: connects per path and round.</summary>
    public int Connects { get; init; } = 16;

    /// <summary>MQTT: messages per throughput burst and route.</summary>
    public int MqttMessages { get; init; } = 6000;

    /// <summary>MQTT: single messages timed per route and round, for P50 and P99.</summary>
    public int MqttLatencySamples { get; init; } = 1000;

    /// <summary>
    /// The stunnel executable the sidecar pair runs (<see cref="StunnelPair.FindExecutable"/>, set by the report
    /// before it measures); null when none is installed, and the sidecar rows say so.
    /// </summary>
    public string? Stunnel { get; init; }

    /// <summary>Where the files go; null for <c>artifacts/encryption-cost/&lt;UTC time&gt;</c>.</summary>
    public string? OutputFolder { get; init; }

    /// <summary>The quick run's settings.</summary>
    public static ReportOptions QuickRun { get; } = new()
    {
        Quick = true,
        Rounds = 2,
        MinSampleTime = TimeSpan.Zero,
        Shrink = 32,
        RoundTrips = 30,
        WarmupRoundTrips = 20,
        Connects = 2,
        MqttMessages = 100,
        MqttLatencySamples = 20,
    };

    /// <summary>Reads <c>[--quick] [--rounds N] [--out DIR]</c>.</summary>
    /// <exception cref="ArgumentException">An argument is unknown or its value is missing or invalid; the message says which.</exception>
    public static ReportOptions Parse(IReadOnlyList<string> args)
    {
        var quick = args.Contains("--quick");
        var options = quick ? QuickRun : new ReportOptions();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--rounds" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var rounds) && rounds is > 0 and <= 100:
                    options = options with { Rounds = rounds };
                    i++;
                    break;
                case "--out" when i + 1 < args.Count && args[i + 1].Length > 0:
                    options = options with { OutputFolder = args[i + 1] };
                    i++;
                    break;
                case "--rounds" or "--out":
                    throw new ArgumentException($"{args[i]} needs a value ({(args[i] == "--out" ? "a folder" : "a whole number from 1 to 100")}).");
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: report [--quick] [--rounds N] [--out DIR]");
            }
        }

        return options;
    }
}
