using System.Globalization;
using System.Text.RegularExpressions;

namespace TwoTierBroker.Tests.Support;

/// <summary>The sample as people run it (<c>dotnet TwoTierBroker.dll ...</c>, copied beside the tests), and the mosquitto clients.</summary>
internal static partial class SampleProcesses
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "TwoTierBroker.dll");

    public static ChildProcess Start(params string[] arguments) => ChildProcess.Start("dotnet", [Dll, .. arguments]);

    /// <summary>Starts a command and waits for <paramref name="lines"/> endpoint lines on stdout; returns their ports, in order.</summary>
    public static async Task<(ChildProcess Process, List<int> Ports)> StartAsync(int lines, params string[] arguments)
    {
        var process = Start(arguments);
        try
        {
            await process.WaitForLinesAsync(@"^(mqtt )?listening on 127\.0\.0\.1:\d+$", lines, Timeout);
            var ports = EndpointLine().Matches(process.Output).Select(m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).ToList();
            return (process, ports);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>mosquitto_pub or mosquitto_sub; a missing one fails the test with what to install.</summary>
    public static ChildProcess Mosquitto(string tool, params string[] arguments)
    {
        var path = new[] { "/usr/bin", "/usr/local/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{tool} is not installed: the interop tests need Debian's mosquitto-clients (apt-get install -y mosquitto-clients; .ci/run installs it).");
        // stdout is a pipe here, which C's stdio would buffer whole: stdbuf makes it a line at a time.
        return ChildProcess.Start("stdbuf", ["-oL", path, .. arguments]);
    }

    /// <summary>Subscribes with mosquitto_sub (<c>-v</c>: one "topic payload" line per message) and waits until its SUBACK came (<c>-d</c>).</summary>
    public static async Task<ChildProcess> SubscribeAsync(int port, string filter, int qos, params string[] more)
    {
        var sub = Mosquitto("mosquitto_sub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", $"sub-{Guid.NewGuid():N}", "-t", filter, "-q", qos.ToString(CultureInfo.InvariantCulture), "-v", "-d", .. more]);
        await sub.WaitForLineAsync("received SUBACK", Timeout);
        return sub;
    }

    /// <summary>One mosquitto_pub run to its end.</summary>
    public static async Task<(int ExitCode, string Transcript)> PublishAsync(int port, string topic, string message, int qos, params string[] more)
    {
        await using var pub = Mosquitto("mosquitto_pub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", $"pub-{Guid.NewGuid():N}", "-t", topic, "-m", message, "-q", qos.ToString(CultureInfo.InvariantCulture), .. more]);
        var code = await pub.WaitForExitAsync(Timeout);
        return (code, pub.Transcript);
    }

    /// <summary>The "topic payload" lines mosquitto_sub -v printed so far.</summary>
    public static List<string> Messages(ChildProcess sub, string topicPrefix)
        => [.. sub.Output.Split('\n').Where(l => l.StartsWith(topicPrefix, StringComparison.Ordinal))];

    [GeneratedRegex(@"^(mqtt )?listening on 127\.0\.0\.1:(\d+)$", RegexOptions.Multiline)]
    private static partial Regex EndpointLine();
}
