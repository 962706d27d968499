using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A real process (the CLI, openssl, kill; shared by the library and CLI test projects) with its output collected line by line. Waits are generous and
/// fail with the whole transcript; dispose kills the process tree if it still runs, so no test leaves one behind.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();
    private readonly Lock _gate = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];

    private ChildProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
    }

    public string CommandLine { get; }

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>Both streams, for failure messages.</summary>
    public string Transcript => $"$ {CommandLine}\n--- stdout ---\n{Output}--- stderr ---\n{Errors}";

    public StreamWriter Input => _process.StandardInput;

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Plain output: no colours, no telemetry banner.
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["NO_COLOR"] = "1";
        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process, $"{fileName} {string.Join(' ', info.ArgumentList)}");
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, child._output);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, child._errors);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"Cannot start '{fileName}' (is it installed? .ci/run installs openssl).", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for a line of stdout or stderr that matches <paramref name="pattern"/> (also one already written).</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = regex.Match(_output + "\n" + _errors);
            if (seen.Success)
            {
                return seen;
            }

            _waiters.Add((regex, found));
        }

        try
        {
            return await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No line matching /{pattern}/ within {timeout.TotalSeconds} s (exited: {_process.HasExited}).\n{Transcript}");
        }
    }

    /// <summary>Waits until <paramref name="count"/> lines of stdout match <paramref name="pattern"/>.</summary>
    public async Task WaitForLinesAsync(string pattern, int count, TimeSpan timeout)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var deadline = DateTime.UtcNow + timeout;
        while (regex.Count(Output) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Fewer than {count} lines matching /{pattern}/ within {timeout.TotalSeconds} s (exited: {_process.HasExited}).\n{Transcript}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the process to end on its own; returns its exit code once its output is complete.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The process did not exit within {timeout.TotalSeconds} s.\n{Transcript}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line, StringBuilder sink)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            sink.Append(line).Append('\n');
            var text = _output + "\n" + _errors;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var match = _waiters[i].Pattern.Match(text);
                if (match.Success)
                {
                    _waiters[i].Found.TrySetResult(match);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
