using System.Globalization;
using ScottPlot;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// The report's chart (ScottPlot, rendered by Skia without a display): throughput by frame size on one
/// connection, the four paths side by side, on a log scale so 64-byte and 1 MiB frames share one picture.
/// </summary>
internal static class ReportChart
{
    private static readonly (string Name, Func<ReportRow, Stat?> Value, Color Color)[] Series =
    [
        ("Disabled", r => r.Disabled, Color.FromHex("#7f7f7f")),
        ("Enabled (mutual TLS 1.3)", r => r.Enabled, Color.FromHex("#1f77b4")),
        ("Naive SslStream", r => r.Naive, Color.FromHex("#d62728")),
        ("Plain socket", r => r.Socket, Color.FromHex("#c7c7c7")),
    ];

    /// <summary>Writes <c>chart.png</c> and <c>chart.svg</c> into <paramref name="folder"/> from the one-connection throughput rows.</summary>
    public static void Write(ReportResult result, string folder)
    {
        var rows = result.Rows.Where(r => r.Group == ReportMeasurements.Group.Throughput(1)).ToList();
        var plot = new Plot();
        var groupWidth = Series.Length + 1;
        for (var s = 0; s < Series.Length; s++)
        {
            var (name, value, color) = Series[s];
            var bars = rows
                .Select((row, g) => (Stat: value(row), Group: g))
                .Where(b => b.Stat is not null)
                .Select(b => new Bar
                {
                    Position = (b.Group * groupWidth) + s,
                    Value = Math.Log10(b.Stat!.Median),
                    ValueBase = 0,
                    FillColor = color,
                    LineWidth = 0,
                })
                .ToList();
            plot.Add.Bars(bars).LegendText = name;
        }

        plot.Axes.Bottom.SetTicks(
            [.. rows.Select((_, g) => (g * groupWidth) + ((Series.Length - 1) / 2.0))],
            [.. rows.Select(r => r.Workload.Replace(" frames", string.Empty, StringComparison.Ordinal))]);
        var decades = new ScottPlot.TickGenerators.NumericManual();
        for (var d = 0; d <= 5; d++)
        {
            decades.AddMajor(d, Math.Pow(10, d).ToString("N0", CultureInfo.InvariantCulture));
        }

        plot.Axes.Left.TickGenerator = decades;
        var top = rows.SelectMany(r => Series.Select(x => x.Value(r)?.Median ?? 1)).Max();
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsY(0, Math.Ceiling(Math.Log10(top) + 0.2));
        plot.Title(result.Quick ? "Throughput by frame size, one connection (QUICK RUN: numbers mean nothing)" : "Throughput by frame size, one connection");
        plot.YLabel("MB/s of payload (log scale)");
        plot.XLabel(string.Create(CultureInfo.InvariantCulture, $"{result.Machine.Cpu}, {result.Machine.LogicalCores} cores; median of {result.Rows[0].Rounds} rounds, {result.Started:yyyy-MM-dd}"));
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(Path.Combine(folder, "chart.png"), 1000, 480);
        plot.SaveSvg(Path.Combine(folder, "chart.svg"), 1000, 480);
    }
}
