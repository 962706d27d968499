using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Spectre.Console;

namespace Broker.Transport.Cli.Send;

/// <summary>
/// What <c>send</c> shows: a live progress bar while the load runs, then a summary. On a terminal both are
/// Spectre.Console widgets; when stdout is not one (a pipe, a file, a test), the progress becomes a plain
/// line on stderr each second and the summary plain <c>name: value</c> lines, with no escape codes.
/// </summary>
internal static class SendReport
{
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Shows progress until <paramref name="run"/> ends.</summary>
    public static async Task ShowProgressAsync(Task run, IReadOnlyList<LoadConnection> connections, long? totalMessages, TimeSpan? duration, int size)
    {
        var started = Stopwatch.GetTimestamp();
        if (!Interactive)
        {
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
                if (!run.IsCompleted)
                {
                    await Console.Error.WriteLineAsync($"progress: {Line(connections, Stopwatch.GetElapsedTime(started), size)}").ConfigureAwait(false);
                }
            }

            return;
        }

        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("sending", maxValue: totalMessages ?? duration?.TotalSeconds ?? 1);
                while (true)
                {
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    task.Value = totalMessages is null ? Math.Min(elapsed.TotalSeconds, task.MaxValue) : connections.Sum(c => c.MessagesSent);
                    task.Description = Markup.Escape(Line(connections, elapsed, size));
                    if (run.IsCompleted)
                    {
                        task.Value = task.MaxValue;
                        return;
                    }

                    await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(200))).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
    }

    /// <summary>Prints the summary: counts, rates and, with echo, latency and the byte check.</summary>
    public static void PrintSummary(IReadOnlyList<LoadConnection> connections, bool echo, int size, TimeSpan elapsed)
    {
        var sent = connections.Sum(c => c.MessagesSent);
        var echoed = connections.Sum(c => c.MessagesEchoed);
        var bytes = sent * size;
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var errors = connections.Count(c => c.Error is not null);

        // Connections the backend refused once they were set up: the cause of whatever did not come back.
        var refusal = connections.Select(c => c.Refusal).FirstOrDefault(r => r is not null);
        var cause = refusal is null ? string.Empty : $"; the backend refused the connection after it was set up: {refusal}";
        var rows = new List<(string Name, string Value)>
        {
            ("connections", Invariant($"{connections.Count}")),
            ("message size", Invariant($"{size} B")),
            ("messages", Invariant($"{sent}")),
            ("bytes", Invariant($"{bytes}")),
            ("elapsed", Invariant($"{elapsed.TotalSeconds:0.000} s")),
            ("messages/s", Invariant($"{sent / seconds:0}")),
            ("MB/s", Invariant($"{bytes / seconds / 1e6:0.00}")),
        };
        if (echo)
        {
            var latency = new LongHistogram(60_000_000, 3);
            foreach (var connection in connections)
            {
                latency.Add(connection.Latency);
            }

            rows.Add(("echoed", Invariant($"{echoed}")));
            rows.Add(("latency p50", Millis(latency, 50)));
            rows.Add(("latency p99", Millis(latency, 99)));
            rows.Add(("latency max", latency.TotalCount == 0 ? "-" : Invariant($"{latency.GetMaxValue() / 1000.0:0.000} ms")));
            // A message counts as echoed only once all its bytes came back unchanged.
            rows.Add(("echo check", echoed == sent
                ? "every byte came back unchanged"
                : Invariant($"FAILED: {echoed} of {sent} messages came back intact{cause}")));
        }

        else
        {
            rows.Add(("sink check", errors == 0
                ? "the server counted every byte sent"
                : refusal is null ? "FAILED: see the errors" : $"FAILED{cause}"));
        }

        rows.Add(("errors", Invariant($"{errors}")));
        if (!Interactive)
        {
            foreach (var (name, value) in rows)
            {
                Console.Out.WriteLine($"{name}: {value}");
            }

            return;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("send").AddColumn(new TableColumn("result").RightAligned());
        foreach (var (name, value) in rows)
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value));
        }

        AnsiConsole.Write(table);
    }

    private static string Line(IReadOnlyList<LoadConnection> connections, TimeSpan elapsed, int size)
    {
        var sent = connections.Sum(c => c.MessagesSent);
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        return Invariant($"{elapsed.TotalSeconds:0.0} s, {sent} messages, {sent / seconds:0} msg/s, {sent * (double)size / seconds / 1e6:0.00} MB/s");
    }

    private static string Millis(LongHistogram histogram, double percentile) => histogram.TotalCount == 0
        ? "-"
        : Invariant($"{histogram.GetValueAtPercentile(percentile) / 1000.0:0.000} ms");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
