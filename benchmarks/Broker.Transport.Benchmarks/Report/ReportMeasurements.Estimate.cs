using System.Globalization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>How long the report's measurements should take, from what they will run.</summary>
internal static partial class ReportMeasurements
{
    // Rough costs on the 2-core machine of the README's figures (a full run and a quick run there, at load 2):
    // the announcement multiplies them by what the options will run, so it follows --rounds and --quick.
    private const double SecondsPerFrame = 2e-6;
    private const double SecondsPerByte = 1 / 500e6;
    private const double SecondsPerLaneSetup = 0.01;
    private const double SecondsPerRoundTrip = 70e-6;
    private const double SecondsPerConnect = 5e-3;
    private const double SecondsPerMqttMessage = 1 / 8_000.0;
    private const double SecondsPerMqttLatencySample = 0.3e-3;
    private const double SecondsPerMqttSetup = 0.3;

    private const double SecondsPerSidecarStart = 0.2;

    // Each phase's start (the issuer's first leaves, the JIT on first use): most of a quick run.
    private const double SecondsPerPhaseStart = 0.3;

    /// <summary>
    /// About how long <see cref="ThroughputAsync"/>, <see cref="LatencyAsync"/>, <see cref="ConnectAsync"/> and
    /// <see cref="MqttAsync"/> will take with <paramref name="options"/>: each measurement's count times a rough
    /// cost per operation measured here (throughput measurements repeat their batch for at least
    /// <see cref="ReportOptions.MinSampleTime"/>). An announcement, not a promise: a loaded machine takes longer.
    /// </summary>
    public static TimeSpan Estimate(ReportOptions options)
    {
        var rounds = options.Rounds;
        var sidecar = options.Stunnel is not null;
        var seconds = Phases(options).Count * SecondsPerPhaseStart;
        foreach (var connections in ConnectionCounts)
        {
            seconds += Paths.Length * connections * SecondsPerLaneSetup;
            foreach (var set in Payloads.Names.Select(name => Payloads.Get(name, options.Shrink)))
            {
                var batch = (set.Frames * SecondsPerFrame) + (set.Bytes * SecondsPerByte);
                var measurement = batch * Math.Max(1, Math.Ceiling(options.MinSampleTime.TotalSeconds / batch));
                seconds += PathsOf(set, sidecar).Length * (batch + (rounds * measurement));
            }
        }

        var latencyPaths = Paths.Length + (sidecar ? 1 : 0);
        seconds += latencyPaths * (options.WarmupRoundTrips + (rounds * options.RoundTrips)) * SecondsPerRoundTrip;
        if (sidecar)
        {
            // Two pairs of stunnel processes (throughput, latency), each started and then killed.
            seconds += 2 * SecondsPerSidecarStart;
        }

        // Per algorithm, six operations (full and resumed on three paths), each warmed twice; then the rotation's
        // three measurements per round, the rotating one lasting at least three renewal intervals.
        var connects = (HandshakeAlgorithms.Length * 6 * (2 + (rounds * options.Connects))) + (rounds * 2 * options.Connects);
        seconds += connects * SecondsPerConnect;
        seconds += rounds * Math.Max(options.Connects * SecondsPerConnect, 3 * RotationBenchmarks.RotationIntervalMs / 1e3);

        var mqttPerRoute = (options.MqttMessages * SecondsPerMqttMessage) + (options.MqttLatencySamples * SecondsPerMqttLatencySample);
        seconds += (Routes.Length * SecondsPerMqttSetup) + (MqttWorkloads.Length * Routes.Length * mqttPerRoute * (rounds + 0.25));
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>"about 4 seconds", "about 2 minutes": <paramref name="estimate"/> for people.</summary>
    public static string Describe(TimeSpan estimate) => estimate.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"about {Math.Max(1, Math.Round(estimate.TotalSeconds)):F0} seconds")
        : string.Create(CultureInfo.InvariantCulture, $"about {Math.Round(estimate.TotalMinutes * 2) / 2:0.#} minutes");
}
