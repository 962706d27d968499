using System.Text.RegularExpressions;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// An <c>openssl</c> command (s_server, s_client) run as a real peer: a <see cref="ChildProcess"/> whose waits
/// also end with the test's cancellation token. Dispose kills it (and anything it started) if it still runs.
/// </summary>
internal sealed class OpenSslProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private OpenSslProcess(ChildProcess process) => _process = process;

    /// <summary>Everything written to stdout so far.</summary>
    public string Output => _process.Output;

    /// <summary>Everything written to stderr so far.</summary>
    public string Errors => _process.Errors;

    /// <summary>The command line and both streams, for failure messages.</summary>
    public string Transcript => _process.Transcript;

    public StreamWriter Input => _process.Input;

    public static OpenSslProcess Start(string workingDirectory, params string[] arguments)
        => new(ChildProcess.Start("openssl", arguments, workingDirectory));

    /// <summary>Waits for a line of stdout or stderr that matches <paramref name="pattern"/> (also one already written).</summary>
    public Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout, CancellationToken cancellationToken)
        => _process.WaitForLineAsync(pattern, timeout).WaitAsync(cancellationToken);

    /// <summary>Waits for the process to end on its own; returns its exit code once its output is complete.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        => _process.WaitForExitAsync(timeout).WaitAsync(cancellationToken);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
