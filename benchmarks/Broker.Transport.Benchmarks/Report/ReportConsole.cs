using System.Globalization;
using Spectre.Console;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>Prints the report's tables: Spectre.Console tables on a terminal, the Markdown otherwise.</summary>
internal static class ReportConsole
{
    /// <summary>Prints one table per group, the notes and the integrity check.</summary>
    public static void Print(ReportResult result)
    {
        if (!ReportProgress.Interactive)
        {
            Console.WriteLine();
            Console.WriteLine(ReportFiles.Markdown(result, chart: null));
            return;
        }

        AnsiConsole.MarkupLine($"[bold]The cost of encryption[/]  [grey]{Markup.Escape(result.Machine.Describe())}; {Markup.Escape(result.Machine.Load())}[/]");
        foreach (var group in result.Rows.GroupBy(r => r.Group))
        {
            var table = new Table { Title = new TableTitle(Markup.Escape(group.Key)), Border = TableBorder.Rounded };
            foreach (var (header, i) in ReportFormat.Headers.Select((h, i) => (h, i)))
            {
                table.AddColumn(new TableColumn(header) { Alignment = i == 0 ? Justify.Left : Justify.Right });
            }

            foreach (var row in group)
            {
                var cells = ReportFormat.Cells(row).Select(Markup.Escape).ToArray();
                cells[3] = $"[bold]{cells[3]}[/]";
                table.AddRow(cells);
            }

            AnsiConsole.Write(table);
            foreach (var row in group.Where(r => r.Note is not null))
            {
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape($"{row.Workload}: {row.Note}.")}[/]");
            }
        }

        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(ReportFormat.CostNote(result.Rows[0].Rounds))}[/]");
        if (result.Mqtt.Count > 0)
        {
            var mqtt = new Table { Title = new TableTitle(Markup.Escape(ReportMeasurements.MqttGroup)), Border = TableBorder.Rounded };
            foreach (var (header, i) in ReportFormat.MqttHeaders.Select((h, i) => (h, i)))
            {
                mqtt.AddColumn(new TableColumn(header) { Alignment = i == 0 ? Justify.Left : Justify.Right });
            }

            foreach (var row in result.Mqtt)
            {
                mqtt.AddRow([.. ReportFormat.MqttCells(row).Select(Markup.Escape)]);
            }

            AnsiConsole.Write(mqtt);
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(ReportFormat.MqttNote(result.Mqtt[0].Rounds))}[/]");
        }

        foreach (var check in result.Integrity)
        {
            AnsiConsole.MarkupLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Integrity, {check.Mode}: {(check.Ok ? "[green]OK[/]" : "[red]MISMATCH[/]")} {check.Verified:N0} of {check.Frames:N0} frames echoed back byte for byte{Markup.Escape(check.Mismatch is null ? string.Empty : $": {check.Mismatch}")}"));
        }
    }
}
