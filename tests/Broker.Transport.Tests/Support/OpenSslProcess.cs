using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// An <c>openssl</c> command (s_server, s_client) run as a real peer. Its output is collected line by line;
/// dispose kills it (and anything it started) if it is still running, so no test leaves one behind.
/// </summary>
internal sealed class OpenSslProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();
    private readonly Lock _gate = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];

    private OpenSslProcess(Process process) => _process = process;

    /// <summary>Everything written to stdout so far.</summary>
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

    /// <summary>Everything written to stderr so far.</summary>
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
    public string Transcript => $"--- stdout ---\n{Output}--- stderr ---\n{Errors}";

    public StreamWriter Input => _process.StandardInput;

    public static OpenSslProcess Start(string workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var peer = new OpenSslProcess(process);
        process.OutputDataReceived += (_, e) => peer.OnLine(e.Data, peer._output);
        process.ErrorDataReceived += (_, e) => peer.OnLine(e.Data, peer._errors);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException("The interop tests need the 'openssl' command (OpenSSL 3) on PATH; .ci/run installs it.", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Waits for a line of stdout or stderr that matches <paramref name="pattern"/>.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Multiline: a line written before this wait began is found in the collected output, where ^ and $
        // must match at line boundaries (without it, an early ACCEPT line was missed and the wait timed out).
        var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Multiline);
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = regex.Match(_output.ToString() + "\n" + _errors.ToString());
            if (seen.Success)
            {
                return seen;
            }

            _waiters.Add((regex, found));
        }

        try
        {
            return await found.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"openssl wrote no line matching /{pattern}/ within {timeout.TotalSeconds} s (exited: {_process.HasExited}).\n{Transcript}");
        }
    }

    /// <summary>Waits for the process to end on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"openssl did not exit within {timeout.TotalSeconds} s.\n{Transcript}");
        }

        // WaitForExitAsync also waits for the redirected streams to reach their end, so the output is complete.
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
            // Never started, or already gone.
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line, StringBuilder into)
    {
        if (line is null)
        {
            return;
        }

        List<(TaskCompletionSource<Match>, Match)> matched = [];
        lock (_gate)
        {
            into.Append(line).Append('\n');
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var match = _waiters[i].Pattern.Match(line);
                if (match.Success)
                {
                    matched.Add((_waiters[i].Found, match));
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var (found, match) in matched)
        {
            found.TrySetResult(match);
        }
    }
}
