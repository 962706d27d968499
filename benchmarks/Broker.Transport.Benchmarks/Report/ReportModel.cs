namespace Broker.Transport.Benchmarks.Report;

/// <summary>What a row measures, which says its unit and which way is better.</summary>
internal enum RowKind
{
    /// <summary>Payload MB (10^6 bytes) per second, from the time per batch: higher is better.</summary>
    Throughput,

    /// <summary>Microseconds per round trip: lower is better.</summary>
    Latency,

    /// <summary>Milliseconds per connect (with the handshake): lower is better.</summary>
    Connect,
}

/// <summary>The median of a value over the report's rounds, and the lowest and highest round.</summary>
internal sealed record Stat(double Median, double Min, double Max)
{
    /// <summary>The median, min and max of <paramref name="values"/>.</summary>
    public static Stat Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("No value to summarize.", nameof(values));
        }

        return new Stat(MedianOf(sorted), sorted[0], sorted[^1]);
    }

    /// <summary>
    /// A comparison of two paths: <paramref name="compare"/> of their medians (so it agrees with the table's
    /// columns), and the lowest and highest of the same comparison within each round (the spread).
    /// </summary>
    public static Stat Compare(IReadOnlyList<double> first, IReadOnlyList<double> second, Func<double, double, double> compare)
    {
        var rounds = first.Zip(second, compare).Order().ToArray();
        return new Stat(compare(MedianOf([.. first.Order()]), MedianOf([.. second.Order()])), rounds[0], rounds[^1]);
    }

    /// <summary>
    /// The same statistic in another unit: <paramref name="convert"/> of the median, min and max, whichever
    /// way it orders them (seconds per batch become MB/s). Converting the median of seconds, rather than taking
    /// the median of converted values, keeps a row's columns and its cost in agreement for any number of rounds.
    /// </summary>
    public Stat Map(Func<double, double> convert)
    {
        var (a, b) = (convert(Min), convert(Max));
        return new Stat(convert(Median), Math.Min(a, b), Math.Max(a, b));
    }

    private static double MedianOf(double[] sorted)
    {
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>
/// One workload's result: each path's value (in the kind's unit) and the comparisons, every one the median
/// over the rounds, with its lowest and highest round. The comparisons are taken within each round, from
/// measurements made back to back: the headline is the comparison of the medians, and its lowest and
/// highest round give the spread.
/// </summary>
/// <param name="Group">The table the row belongs to (throughput on one connection, latency, ...).</param>
/// <param name="Workload">What was measured, for people.</param>
/// <param name="Kind">The unit, and which way is better.</param>
/// <param name="Disabled">This transport in plaintext.</param>
/// <param name="Enabled">This transport with mutual TLS 1.3.</param>
/// <param name="CostPercent">How much longer Enabled takes than Disabled for the same work, in percent.</param>
/// <param name="Naive">The naive SslStream over a NetworkStream, one write per message; null where none runs.</param>
/// <param name="EnabledVsNaive">The naive SslStream's time divided by Enabled's: above 1, Enabled is faster.</param>
/// <param name="Socket">A plain socket, one write per message; null where none runs.</param>
/// <param name="Rounds">How many rounds the medians are of.</param>
/// <param name="Note">What else the row's measurement saw, printed under its table; or null.</param>
/// <param name="Sidecar">The sidecar pair (plaintext ends, two stunnel processes doing mutual TLS 1.3); null where none ran.</param>
/// <param name="EnabledVsSidecar">The sidecar pair's time divided by Enabled's: above 1, Enabled is faster.</param>
/// <param name="SidecarAbsent">Why a row the sidecar pair belongs to has no sidecar figure (<see cref="StunnelPair.NotInstalled"/>); null otherwise.</param>
internal sealed record ReportRow(
    string Group,
    string Workload,
    RowKind Kind,
    Stat Disabled,
    Stat Enabled,
    Stat CostPercent,
    Stat? Naive,
    Stat? EnabledVsNaive,
    Stat? Socket,
    int Rounds,
    string? Note = null,
    Stat? Sidecar = null,
    Stat? EnabledVsSidecar = null,
    string? SidecarAbsent = null);

/// <summary>
/// Seconds per operation of one workload, per path and round, as measured; <see cref="ToRow"/> turns them
/// into the row's units and same-round comparisons.
/// </summary>
internal sealed class RowSamples(string group, string workload, RowKind kind, double unitsPerOperation = 1)
{
    private readonly Dictionary<ThroughputPath, List<double>> _seconds = [];

    /// <summary>Adds one round's seconds per operation for <paramref name="path"/>.</summary>
    public void Add(ThroughputPath path, double secondsPerOperation)
    {
        if (!_seconds.TryGetValue(path, out var list))
        {
            _seconds[path] = list = [];
        }

        list.Add(secondsPerOperation);
    }

    /// <summary>
    /// For a workload the sidecar pair belongs to when it could not run: why (<see cref="StunnelPair.NotInstalled"/>),
    /// shown where its figure would be. Null otherwise.
    /// </summary>
    public string? SidecarAbsent { get; init; }

    /// <summary>The row, once every round has a Disabled and an Enabled measurement.</summary>
    public ReportRow ToRow(string? note = null)
    {
        var disabled = _seconds[ThroughputPath.Disabled];
        var enabled = _seconds[ThroughputPath.Enabled];
        var naive = _seconds.GetValueOrDefault(ThroughputPath.SslStream);
        var socket = _seconds.GetValueOrDefault(ThroughputPath.Socket);
        var sidecar = _seconds.GetValueOrDefault(ThroughputPath.Sidecar);
        return new ReportRow(
            group,
            Workload,
            kind,
            Stat.Of(disabled).Map(Value),
            Stat.Of(enabled).Map(Value),
            Stat.Compare(enabled, disabled, (e, d) => (e / d - 1) * 100),
            naive is null ? null : Stat.Of(naive).Map(Value),
            naive is null ? null : Stat.Compare(naive, enabled, (n, e) => n / e),
            socket is null ? null : Stat.Of(socket).Map(Value),
            disabled.Count,
            note,
            sidecar is null ? null : Stat.Of(sidecar).Map(Value),
            sidecar is null ? null : Stat.Compare(sidecar, enabled, (s, e) => s / e),
            sidecar is null ? SidecarAbsent : null);
    }

    /// <summary>The workload's name.</summary>
    public string Workload { get; } = workload;

    private double Value(double seconds) => kind switch
    {
        RowKind.Throughput => unitsPerOperation / seconds / 1e6,
        RowKind.Latency => seconds * 1e6,
        _ => seconds * 1e3,
    };
}
