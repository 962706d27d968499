using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>
/// Shows where the report is: on a terminal, Spectre.Console progress bars, one per phase; otherwise (a
/// pipe, a CI log) one plain line per step with the elapsed time, so nothing is drawn that a log cannot hold.
/// </summary>
internal sealed class ReportProgress
{
    private readonly Dictionary<string, ProgressTask>? _bars;
    private readonly Dictionary<string, (int Done, int Steps)> _counts;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ReportProgress(IReadOnlyList<(string Phase, int Steps)> phases, Dictionary<string, ProgressTask>? bars)
    {
        _bars = bars;
        _counts = phases.ToDictionary(p => p.Phase, p => (0, p.Steps));
    }

    /// <summary>Whether the console is a terminal that can redraw progress bars.</summary>
    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="body"/> with progress for <paramref name="phases"/> (each with its number of steps).</summary>
    public static async Task<T> RunAsync<T>(IReadOnlyList<(string Phase, int Steps)> phases, Func<ReportProgress, Task<T>> body)
    {
        if (!Interactive)
        {
            return await body(new ReportProgress(phases, null));
        }

        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var bars = phases.ToDictionary(p => p.Phase, p => context.AddTask(p.Phase, autoStart: false, maxValue: p.Steps));
                return await body(new ReportProgress(phases, bars));
            });
    }

    /// <summary>Says that one step of <paramref name="phase"/> is done, and what it was.</summary>
    public void Step(string phase, string detail)
    {
        var (done, steps) = _counts[phase];
        _counts[phase] = (++done, steps);
        if (_bars is null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{_clock.Elapsed:mm\\:ss}] {phase} {done}/{steps}: {detail}"));
            return;
        }

        var bar = _bars[phase];
        bar.StartTask();
        bar.Description = done < steps ? $"{phase}: {Markup.Escape(detail)}" : phase;
        bar.Increment(1);
        if (done >= steps)
        {
            bar.StopTask();
        }
    }
}
