using System.Globalization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>How the report writes its figures, the same in the console, the Markdown and the chart.</summary>
internal static class ReportFormat
{
    /// <summary>The table's column headers.</summary>
    public static readonly string[] Headers = ["Workload", "Disabled", "Enabled", "Cost of encryption", "Naive SslStream", "Enabled vs naive", "Plain socket", "Sidecar pair", "Enabled vs sidecar"];

    /// <summary>The cells of <paramref name="row"/>, in <see cref="Headers"/>' order.</summary>
    public static string[] Cells(ReportRow row) =>
    [
        row.Workload,
        Number(row.Disabled.Median),
        Number(row.Enabled.Median),
        Cost(row.CostPercent),
        row.Naive is null ? "-" : Number(row.Naive.Median),
        row.EnabledVsNaive is null ? "-" : Speedup(row.EnabledVsNaive),
        row.Socket is null ? "-" : Number(row.Socket.Median),
        row.Sidecar is null ? row.SidecarAbsent ?? "-" : Number(row.Sidecar.Median),
        row.EnabledVsSidecar is null ? "-" : Speedup(row.EnabledVsSidecar),
    ];

    /// <summary>The cost of encryption: the median and, in brackets, the lowest and highest round.</summary>
    public static string Cost(Stat cost)
        => string.Create(CultureInfo.InvariantCulture, $"{Percent(cost.Median)} ({Percent(cost.Min)} to {Percent(cost.Max)})");

    /// <summary>How Enabled compares with the naive SslStream: "4.2x faster" or "1.3x slower", from the median ratio.</summary>
    public static string Speedup(Stat ratio) => ratio.Median >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{ratio.Median:F1}x faster")
        : string.Create(CultureInfo.InvariantCulture, $"{1 / ratio.Median:F1}x slower");

    /// <summary>A signed percentage, whole above 10.</summary>
    public static string Percent(double percent)
        => percent.ToString(Math.Abs(percent) < 10 ? "+0.0;-0.0;0" : "+#,0;-#,0;0", CultureInfo.InvariantCulture) + "%";

    /// <summary>About three significant digits, thousands separated.</summary>
    public static string Number(double value) => Math.Abs(value) switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("N1", CultureInfo.InvariantCulture),
        _ => value.ToString("N2", CultureInfo.InvariantCulture),
    };

    /// <summary>The MQTT table's column headers.</summary>
    public static readonly string[] MqttHeaders = ["Workload", "Single broker", "Disabled", "Enabled", "Internal hop", "Cost of encryption"];

    /// <summary>The cells of an MQTT row, in <see cref="MqttHeaders"/>' order.</summary>
    public static string[] MqttCells(MqttRow row) =>
    [
        $"{row.Workload}, {row.Measure}",
        Number(row.Single.Median),
        Number(row.Disabled.Median),
        Number(row.Enabled.Median),
        Cost(row.HopPercent),
        Cost(row.EncryptionPercent),
    ];

    /// <summary>What the MQTT table's columns mean.</summary>
    public static string MqttNote(int rounds) => string.Create(
        CultureInfo.InvariantCulture,
        $"The same MQTTnet clients on every path: {MqttPath.Publishers} publishers and one subscriber (#, QoS 1). Single broker: one MQTTnet broker, publishers and subscriber on it. Disabled and Enabled: the sample's all (2 frontends, 2 backends, in this process), publishers on frontend 0, the subscriber on frontend 1, so each message goes frontend -> owning backend -> frontend, and a QoS 1 PUBACK waits for the backend's ack, which waits for the subscriber's frontend. messages/s: bursts with at most 256 undelivered, first publish to last delivery; latency: one message at a time, publish to delivery. Internal hop: how much longer Disabled takes than the single broker; cost of encryption: how much longer Enabled takes than Disabled (+100% = half the messages/s, or twice the latency). Medians of {rounds} rounds; brackets: lowest and highest round.");

    /// <summary>What the sidecar columns are, for the notes under the tables.</summary>
    public static string SidecarNote(ReportResult result) => result.Sidecar == StunnelPair.NotInstalled
        ? $"Sidecar pair: what users pick instead of in-process TLS, a TLS sidecar beside each end (stunnel between two Disabled ends); {StunnelPair.NotInstalled} on this machine, so its rows say so and hold no figure."
        : $"Sidecar pair: what users pick instead of in-process TLS. This transport Disabled at both ends, frontend -> stunnel client -> stunnel server -> backend, every hop on loopback: the two stunnels speak mutual TLS 1.3 with each other on the same leaves and root as Enabled, each verifying the other's chain against the root, limited to the suite Enabled negotiates ({result.Sidecar}). \"Enabled vs sidecar\" divides its time by Enabled's. It runs with the 256 B and 64 KiB frames and the ping-pong, in the same rounds.";

    /// <summary>What the cost column means, for the notes under the tables.</summary>
    public static string CostNote(int rounds) => string.Create(
        CultureInfo.InvariantCulture,
        $"Cost of encryption: how much longer Enabled takes than Disabled for the same work (per batch of frames, per round trip, per connection), so +100% means half the throughput. Every figure is the median of {rounds} rounds, each of which measures all the paths of a workload back to back; the cost and the naive comparison compare those medians, and in brackets are the lowest and highest cost found within one round (the spread).");
}
