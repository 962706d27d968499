using System.Globalization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>How the report writes its figures, the same in the console, the Markdown and the chart.</summary>
internal static class ReportFormat
{
    /// <summary>The table's column headers.</summary>
    public static readonly string[] Headers = ["Workload", "Disabled", "Enabled", "Cost of encryption", "Naive SslStream", "Enabled vs naive", "Plain socket"];

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

    /// <summary>What the cost column means, for the notes under the tables.</summary>
    public static string CostNote(int rounds) => string.Create(
        CultureInfo.InvariantCulture,
        $"Cost of encryption: how much longer Enabled takes than Disabled for the same work (per batch of frames, per round trip, per connection), so +100% means half the throughput. Every figure is the median of {rounds} rounds, each of which measures all the paths of a workload back to back; the cost and the naive comparison compare those medians, and in brackets are the lowest and highest cost found within one round (the spread).");
}
