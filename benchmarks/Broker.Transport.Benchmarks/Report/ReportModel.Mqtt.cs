namespace Broker.Transport.Benchmarks.Report;

/// <summary>The paths of the MQTT table.</summary>
internal enum MqttRoute
{
    /// <summary>One MQTTnet broker, no internal hop.</summary>
    Single,

    /// <summary>The two-tier sample, plaintext between frontends and backends.</summary>
    Disabled,

    /// <summary>The two-tier sample, mutual TLS 1.3 between frontends and backends.</summary>
    Enabled,
}

/// <summary>
/// One line of the MQTT table: a workload's throughput or latency on each path (medians over the rounds, with
/// the lowest and highest round), what the internal hop costs (Disabled against the single broker) and what
/// encryption adds to it (Enabled against Disabled), both as "how much longer", compared within each round.
/// </summary>
/// <param name="Workload">Payload size and QoS.</param>
/// <param name="Measure">What the line measures, with its unit.</param>
/// <param name="Single">One MQTTnet broker.</param>
/// <param name="Disabled">Through the sample, plaintext.</param>
/// <param name="Enabled">Through the sample, mutual TLS 1.3.</param>
/// <param name="HopPercent">How much longer Disabled takes than the single broker, in percent.</param>
/// <param name="EncryptionPercent">How much longer Enabled takes than Disabled, in percent.</param>
/// <param name="Rounds">How many rounds the medians are of.</param>
internal sealed record MqttRow(string Workload, string Measure, Stat Single, Stat Disabled, Stat Enabled, Stat HopPercent, Stat EncryptionPercent, int Rounds)
{
    /// <summary>Whether higher is better (messages/s) rather than lower (microseconds).</summary>
    public bool IsThroughput => Measure.StartsWith("messages/s", StringComparison.Ordinal);
}

/// <summary>Seconds per message (throughput) or per delivery (latency), per route and round, turned into a row.</summary>
internal sealed class MqttSamples(string workload, string measure, bool throughput)
{
    private readonly Dictionary<MqttRoute, List<double>> _seconds = [];

    public void Add(MqttRoute route, double seconds)
    {
        if (!_seconds.TryGetValue(route, out var list))
        {
            _seconds[route] = list = [];
        }

        list.Add(seconds);
    }

    public MqttRow ToRow()
    {
        var (single, disabled, enabled) = (_seconds[MqttRoute.Single], _seconds[MqttRoute.Disabled], _seconds[MqttRoute.Enabled]);
        static double Longer(double slow, double fast) => (slow / fast - 1) * 100;
        return new MqttRow(
            workload,
            measure,
            Stat.Of(single).Map(Value),
            Stat.Of(disabled).Map(Value),
            Stat.Of(enabled).Map(Value),
            Stat.Compare(disabled, single, Longer),
            Stat.Compare(enabled, disabled, Longer),
            single.Count);
    }

    private double Value(double seconds) => throughput ? 1 / seconds : seconds * 1e6;
}
