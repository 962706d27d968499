using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>One pod as an OS process: <c>dotnet Broker.Transport.Benchmarks.dll fleet-pod ...</c>, its lines read as they come.</summary>
internal sealed class FleetProcess : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<PodReport> _report = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _errors = new();

    private FleetProcess(PodSettings settings)
    {
        Settings = settings;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(FleetProcess).Assembly.Location);
        foreach (var argument in settings.ToArguments())
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"{settings.Name} did not start.");
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                _errors.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public PodSettings Settings { get; }

    public static async Task<(FleetProcess Process, string Ready)> StartAsync(PodSettings settings)
    {
        var pod = new FleetProcess(settings);
        return (pod, await pod.WithinAsync(pod._ready.Task, "its ready line"));
    }

    /// <summary>Asks the pod to stop and waits for its report.</summary>
    public async Task<PodReport> StopAsync()
    {
        await _process.StandardInput.WriteLineAsync("stop");
        await _process.StandardInput.FlushAsync();
        return await WithinAsync(_report.Task, "its report after stop");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _ready.TrySetException(new InvalidOperationException($"{Settings.Name} ended before it was ready. {Errors()}"));
            _report.TrySetException(new InvalidOperationException($"{Settings.Name} ended without a report. {Errors()}"));
        }
        else if (line.StartsWith("ready", StringComparison.Ordinal))
        {
            _ready.TrySetResult(line);
        }
        else if (line.StartsWith("report ", StringComparison.Ordinal))
        {
            _report.TrySetResult(JsonSerializer.Deserialize<PodReport>(line["report ".Length..])!);
        }
    }

    /// <summary>The pod's warnings and errors on standard error (its certificate source's refusals, a handover cut short).</summary>
    public IEnumerable<string> Warnings()
    {
        lock (_errors)
        {
            return [.. _errors.ToString().Split('\n').Where(l => l.Contains("warn:", StringComparison.Ordinal) || l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal)).Select(l => $"{Settings.Name}: {l.Trim()}")];
        }
    }

    private string Errors()
    {
        lock (_errors)
        {
            return _errors.Length == 0 ? string.Empty : "Its standard error: " + _errors.ToString().Trim();
        }
    }

    private async Task<T> WithinAsync<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Bound);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {Bound.TotalSeconds:0} s for {Settings.Name}'s {what}. {Errors()}", ex);
        }
    }
}
