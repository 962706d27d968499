using System.Globalization;
using ScottPlot;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// The report's chart (ScottPlot, rendered by Skia without a display): throughput by frame size on one
/// connection, the four paths (and the sidecar pair where it ran) side by side, on a log scale so 64-byte and 1 MiB frames share one picture;
/// and under it, MQTT messages/s end to end through the two-tier sample and through one broker.
/// </summary>
internal static class ReportChart
{
    private static readonly (string Name, Func<ReportRow, Stat?> Value, Color Color)[] Series =
    [
        ("Disabled", r => r.Disabled, Color.FromHex("#7f7f7f")),
        ("Enabled (mutual TLS 1.3)", r => r.Enabled, Color.FromHex("#1f77b4")),
        ("Naive SslStream", r => r.Naive, Color.FromHex("#d62728")),
        ("Plain socket", r => r.Socket, Color.FromHex("#c7c7c7")),
        ("Sidecar pair (stunnel, mutual TLS 1.3)", r => r.Sidecar, Color.FromHex("#ff7f0e")),
    ];

    private static readonly (string Name, Func<MqttRow, Stat> Value, Color Color)[] MqttSeries =
    [
        ("Single MQTTnet broker (no internal hop)", r => r.Single, Color.FromHex("#c7c7c7")),
        ("Two-tier, Disabled", r => r.Disabled, Color.FromHex("#7f7f7f")),
        ("Two-tier, Enabled (mutual TLS 1.3)", r => r.Enabled, Color.FromHex("#1f77b4")),
    ];

    /// <summary>
    /// Writes <c>chart.png</c> and <c>chart.svg</c> into <paramref name="folder"/>: the one-connection throughput
    /// rows, and the MQTT panel under them when the run has one.
    /// </summary>
    public static void Write(ReportResult result, string folder)
    {
        var throughput = ThroughputPlot(result);
        if (result.Mqtt.Count == 0)
        {
            throughput.SavePng(Path.Combine(folder, "chart.png"), 1000, 480);
            throughput.SaveSvg(Path.Combine(folder, "chart.svg"), 1000, 480);
            return;
        }

        // A new Multiplot holds one empty plot: Reset puts the throughput plot in its place.
        var multiplot = new Multiplot();
        multiplot.Reset(throughput);
        multiplot.AddPlot(MqttPlot(result));
        multiplot.SavePng(Path.Combine(folder, "chart.png"), 1000, 900);
        using var svg = File.Create(Path.Combine(folder, "chart.svg"));
        using (var canvas = SkiaSharp.SKSvgCanvas.Create(new SkiaSharp.SKRect(0, 0, 1000, 900), svg))
        {
            multiplot.Render(canvas, new PixelRect(0, 1000, 900, 0));
        }
    }

    /// <summary>Messages/s per MQTT workload, the three routes side by side, on a log scale.</summary>
    private static Plot MqttPlot(ReportResult result)
    {
        var rows = result.Mqtt.Where(r => r.IsThroughput).ToList();
        var plot = new Plot();
        var groupWidth = MqttSeries.Length + 1;
        for (var s = 0; s < MqttSeries.Length; s++)
        {
            var (name, value, color) = MqttSeries[s];
            var bars = rows.Select((row, g) => new Bar
            {
                Position = (g * groupWidth) + s,
                Value = Math.Log10(Math.Max(1, value(row).Median)),
                ValueBase = 0,
                FillColor = color,
                LineWidth = 0,
            }).ToList();
            plot.Add.Bars(bars).LegendText = name;
        }

        plot.Axes.Bottom.SetTicks(
            [.. rows.Select((_, g) => (g * groupWidth) + ((MqttSeries.Length - 1) / 2.0))],
            [.. rows.Select(r => r.Workload)]);
        plot.Axes.Left.TickGenerator = Decades(6);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsY(0, Math.Ceiling(Math.Log10(rows.SelectMany(r => MqttSeries.Select(x => x.Value(r).Median)).Max())) + 1);
        plot.Title(result.Quick ? "MQTT, publish to delivery (QUICK RUN: numbers mean nothing)" : "MQTT, publish to delivery: two-tier sample (2 frontends, 2 backends) and one broker");
        plot.YLabel("messages/s (log scale)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static ScottPlot.TickGenerators.NumericManual Decades(int top)
    {
        var decades = new ScottPlot.TickGenerators.NumericManual();
        for (var d = 0; d <= top; d++)
        {
            decades.AddMajor(d, Math.Pow(10, d).ToString("N0", CultureInfo.InvariantCulture));
        }

        return decades;
    }

    private static Plot ThroughputPlot(ReportResult result)
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

            // The sidecar pair runs on two sizes only, and not at all without stunnel: no bars, no legend entry.
            if (bars.Count > 0)
            {
                plot.Add.Bars(bars).LegendText = name;
            }
        }

        plot.Axes.Bottom.SetTicks(
            [.. rows.Select((_, g) => (g * groupWidth) + ((Series.Length - 1) / 2.0))],
            [.. rows.Select(r => r.Workload.Replace(" frames", string.Empty, StringComparison.Ordinal))]);
        plot.Axes.Left.TickGenerator = Decades(5);
        var top = rows.SelectMany(r => Series.Select(x => x.Value(r)?.Median ?? 1)).Max();
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsY(0, Math.Ceiling(Math.Log10(top) + 0.2));
        plot.Title(result.Quick ? "Throughput by frame size, one connection (QUICK RUN: numbers mean nothing)" : "Throughput by frame size, one connection");
        plot.YLabel("MB/s of payload (log scale)");
        var sidecar = result.Sidecar == StunnelPair.NotInstalled ? $"; sidecar pair: {StunnelPair.NotInstalled}" : string.Empty;
        plot.XLabel(string.Create(CultureInfo.InvariantCulture, $"{result.Machine.Cpu}, {result.Machine.LogicalCores} cores; median of {result.Rows[0].Rounds} rounds, {result.Started:yyyy-MM-dd}{sidecar}"));
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }
}
