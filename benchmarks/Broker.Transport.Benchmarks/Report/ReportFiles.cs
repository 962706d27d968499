using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>Everything one report run found, as written to its files.</summary>
/// <param name="Started">When the run started (UTC).</param>
/// <param name="Command">The command that reproduces it.</param>
/// <param name="Quick">Whether it was the quick (CI) run, whose numbers mean nothing.</param>
/// <param name="Machine">The machine and its load.</param>
/// <param name="Integrity">The echo check of both modes.</param>
/// <param name="Rows">The measurements.</param>
/// <param name="Mqtt">MQTT, end to end.</param>
/// <param name="Elapsed">How long the measurements took.</param>
/// <param name="Sidecar">The stunnel the sidecar pair ran ("stunnel 5.68 (OpenSSL 3.0.19), /usr/bin/stunnel"), or <see cref="StunnelPair.NotInstalled"/>.</param>
internal sealed record ReportResult(DateTimeOffset Started, string Command, bool Quick, MachineInfo Machine, IReadOnlyList<IntegrityResult> Integrity, IReadOnlyList<ReportRow> Rows, IReadOnlyList<MqttRow> Mqtt, TimeSpan Elapsed, string Sidecar);

/// <summary>Writes a report's Markdown, CSV and JSON.</summary>
internal static class ReportFiles
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes <c>report.md</c>, <c>results.csv</c>, <c>mqtt.csv</c> and <c>results.json</c> into <paramref name="folder"/>.</summary>
    public static void Write(ReportResult result, string folder)
    {
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown(result));
        File.WriteAllText(Path.Combine(folder, "results.csv"), Csv(result.Rows));
        File.WriteAllText(Path.Combine(folder, "mqtt.csv"), MqttCsv(result.Mqtt));
        File.WriteAllText(Path.Combine(folder, "results.json"), JsonSerializer.Serialize(result, Json));
    }

    /// <summary>The Markdown report: one table per group, the integrity check, the machine and the notes.</summary>
    public static string Markdown(ReportResult result, string? chart = "chart.png")
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine("# The cost of encryption").AppendLine();
        md.AppendLine(inv, $"`{result.Command}`, {result.Started:yyyy-MM-dd HH:mm} UTC, {result.Elapsed.TotalSeconds:F0} s of measurement.");
        if (result.Quick)
        {
            md.AppendLine().AppendLine("**Quick run: every workload once or twice on small batches, to check that the report works. Its numbers mean nothing.**");
        }

        md.AppendLine().AppendLine(inv, $"Machine: {result.Machine.Describe()}; {result.Machine.Load()}.").AppendLine();
        foreach (var group in result.Rows.GroupBy(r => r.Group))
        {
            md.AppendLine(inv, $"### {group.Key}").AppendLine();
            md.AppendLine("| " + string.Join(" | ", ReportFormat.Headers) + " |");
            md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", ReportFormat.Headers.Length - 1)));
            foreach (var row in group)
            {
                md.AppendLine("| " + string.Join(" | ", ReportFormat.Cells(row)) + " |");
            }

            md.AppendLine();
            foreach (var row in group.Where(r => r.Note is not null))
            {
                md.AppendLine(inv, $"{row.Workload}: {row.Note}.").AppendLine();
            }
        }

        md.AppendLine(ReportFormat.CostNote(result.Rows[0].Rounds)).AppendLine();
        md.AppendLine("Naive SslStream: an SslStream over a NetworkStream, one WriteAsync per message (one TLS record, one send each); \"Enabled vs naive\" divides its time by Enabled's. Plain socket: a NetworkStream, one write per message, no framing. Both are the same payloads on the same loopback, in the same rounds.").AppendLine();
        md.AppendLine(ReportFormat.SidecarNote(result)).AppendLine();
        foreach (var check in result.Integrity)
        {
            md.AppendLine(inv, $"Integrity, {check.Mode}: {check.Verified:N0} of {check.Frames:N0} frames ({check.Bytes / 1e6:F1} MB) echoed back byte for byte{(check.Mismatch is null ? string.Empty : $"; MISMATCH: {check.Mismatch}")}.");
        }

        if (result.Mqtt.Count > 0)
        {
            md.AppendLine().AppendLine(inv, $"### {ReportMeasurements.MqttGroup}").AppendLine();
            md.AppendLine("| " + string.Join(" | ", ReportFormat.MqttHeaders) + " |");
            md.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", ReportFormat.MqttHeaders.Length - 1)));
            foreach (var row in result.Mqtt)
            {
                md.AppendLine("| " + string.Join(" | ", ReportFormat.MqttCells(row)) + " |");
            }

            md.AppendLine().AppendLine(ReportFormat.MqttNote(result.Mqtt[0].Rounds));
        }

        if (chart is not null)
        {
            md.AppendLine().AppendLine(inv, $"![Throughput by frame size, and MQTT messages/s end to end]({chart})");
        }

        return md.ToString();
    }

    private static string MqttCsv(IReadOnlyList<MqttRow> rows)
    {
        var csv = new StringBuilder();
        csv.AppendLine("workload,measure,rounds,single_broker,single_min,single_max,disabled,disabled_min,disabled_max,enabled,enabled_min,enabled_max,hop_cost_pct,hop_cost_pct_min,hop_cost_pct_max,encryption_cost_pct,encryption_cost_pct_min,encryption_cost_pct_max");
        foreach (var row in rows)
        {
            csv.AppendJoin(',', Quote(row.Workload), Quote(row.Measure), row.Rounds.ToString(CultureInfo.InvariantCulture))
                .Append(Triple(row.Single)).Append(Triple(row.Disabled)).Append(Triple(row.Enabled))
                .Append(Triple(row.HopPercent)).Append(Triple(row.EncryptionPercent))
                .AppendLine();
        }

        return csv.ToString();
    }

    private static string Csv(IReadOnlyList<ReportRow> rows)
    {
        var csv = new StringBuilder();
        csv.AppendLine("group,workload,unit,rounds,disabled,disabled_min,disabled_max,enabled,enabled_min,enabled_max,cost_pct,cost_pct_min,cost_pct_max,naive_sslstream,naive_min,naive_max,enabled_vs_naive,enabled_vs_naive_min,enabled_vs_naive_max,plain_socket,plain_socket_min,plain_socket_max,sidecar_pair,sidecar_pair_min,sidecar_pair_max,enabled_vs_sidecar,enabled_vs_sidecar_min,enabled_vs_sidecar_max,sidecar_absent");
        foreach (var row in rows)
        {
            var unit = row.Kind switch { RowKind.Throughput => "MB/s", RowKind.Latency => "us", _ => "ms" };
            csv.AppendJoin(',', Quote(row.Group), Quote(row.Workload), unit, row.Rounds.ToString(CultureInfo.InvariantCulture))
                .Append(Triple(row.Disabled)).Append(Triple(row.Enabled)).Append(Triple(row.CostPercent))
                .Append(Triple(row.Naive)).Append(Triple(row.EnabledVsNaive)).Append(Triple(row.Socket))
                .Append(Triple(row.Sidecar)).Append(Triple(row.EnabledVsSidecar)).Append(',').Append(row.SidecarAbsent is null ? string.Empty : Quote(row.SidecarAbsent))
                .AppendLine();
        }

        return csv.ToString();
    }

    private static string Triple(Stat? stat) => stat is null
        ? ",,,"
        : string.Create(CultureInfo.InvariantCulture, $",{stat.Median:G6},{stat.Min:G6},{stat.Max:G6}");

    private static string Quote(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
