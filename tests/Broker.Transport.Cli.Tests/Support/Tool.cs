using System.Globalization;
using System.Runtime.InteropServices;

namespace Broker.Transport.Cli.Tests.Support;

/// <summary>The finished run of one command: its exit code and both streams.</summary>
internal sealed record ToolResult(int ExitCode, string Output, string Errors, string Transcript)
{
    /// <summary>The value of a <c>name: value</c> summary line of send.</summary>
    public string Value(string name)
    {
        foreach (var line in Output.Split('\n'))
        {
            if (line.StartsWith(name + ": ", StringComparison.Ordinal))
            {
                return line[(name.Length + 2)..].Trim();
            }
        }

        throw new Xunit.Sdk.XunitException($"No '{name}:' line.\n{Transcript}");
    }

    public long Number(string name) => long.Parse(Value(name), CultureInfo.InvariantCulture);
}

/// <summary>
/// The broker-transport tool as people run it: <c>dotnet broker-transport.dll ...</c>, the build this project
/// references (copied beside the tests with its runtimeconfig and deps). Generous timeouts: the machine is shared.
/// </summary>
internal static class Tool
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "broker-transport.dll");

    public static ChildProcess Start(params string[] arguments) => ChildProcess.Start("dotnet", [Dll, .. arguments]);

    /// <summary>Runs a command to its end.</summary>
    public static async Task<ToolResult> RunAsync(params string[] arguments)
    {
        await using var process = Start(arguments);
        var code = await process.WaitForExitAsync(Timeout);
        return new ToolResult(code, process.Output, process.Errors, process.Transcript);
    }

    /// <summary>Runs a command to its end under <c>umask <paramref name="umask"/></c>, through sh, as a shell with that umask would.</summary>
    public static async Task<ToolResult> RunUnderUmaskAsync(string umask, params string[] arguments)
    {
        await using var process = ChildProcess.Start("sh", ["-c", $"umask {umask} && exec dotnet \"$0\" \"$@\"", Dll, .. arguments]);
        var code = await process.WaitForExitAsync(Timeout);
        return new ToolResult(code, process.Output, process.Errors, process.Transcript);
    }

    /// <summary>Starts <c>serve</c> and waits for its first line, <c>listening on HOST:PORT</c>; returns the process and the port.</summary>
    public static async Task<(ChildProcess Process, int Port)> ServeAsync(params string[] arguments)
    {
        var serve = Start(["serve", "--listen", "127.0.0.1:0", .. arguments]);
        try
        {
            var match = await serve.WaitForLineAsync(@"^listening on 127\.0\.0\.1:(\d+)$", Timeout);
            Assert.StartsWith("listening on 127.0.0.1:", serve.Output, StringComparison.Ordinal);
            return (serve, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends SIGTERM, as Kubernetes does to stop a pod (.NET's Process.Kill sends SIGKILL).</summary>
    public static Task TerminateAsync(ChildProcess process) => SignalAsync(process, 15);

    /// <summary>Sends SIGINT, as Ctrl+C does.</summary>
    public static Task InterruptAsync(ChildProcess process) => SignalAsync(process, 2);

    private static Task SignalAsync(ChildProcess process, int signal)
    {
        Assert.True(kill(process.Id, signal) == 0, $"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        return Task.CompletedTask;
    }

#pragma warning disable SYSLIB1054 // DllImport, not LibraryImport: two ints need no generated stub (and no AllowUnsafeBlocks).
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}

/// <summary>A temporary folder, removed with everything in it.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("broker-cli-").FullName;

    public string Path { get; }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
