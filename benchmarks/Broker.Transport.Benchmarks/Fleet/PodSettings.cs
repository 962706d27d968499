using System.Globalization;
using System.Net;
using Broker.Transport.Certificates;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>What one pod process is started with: its role, its folders and the fleet's timings, as command-line arguments.</summary>
internal sealed record PodSettings(
    bool Backend,
    int Index,
    string Secret,
    string? Bundle,
    TimeSpan Poll,
    TimeSpan RootHandover,
    TimeSpan DrainGrace,
    TimeSpan ProbeEvery,
    TimeSpan FrameEvery,
    IReadOnlyList<(string Name, int Port)> Backends)
{
    public string Name => $"{(Backend ? "backend" : "frontend")}-{Index}";

    /// <summary>The DNS name in a backend's leaf, which frontends expect (as a Service name would be).</summary>
    public static string BackendName(int index) => $"backend-{index}.broker.svc";

    public static string FrontendName(int index) => $"frontend-{index}.broker.svc";

    public SecretFolderOptions SourceOptions(ILoggerFactory logs) => new() { PollInterval = Poll, RootHandover = RootHandover, TrustBundlePath = Bundle, Environment = new TransportEnvironment { LoggerFactory = logs } };

    /// <summary>The pod's log on standard error: the certificate source's reloads, refusals and handover steps, for the orchestrator to show.</summary>
    public static ILoggerFactory Logs() => LoggerFactory.Create(logging => logging
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
        .SetMinimumLevel(LogLevel.Information));

    public static IEnumerable<IPEndPoint> Endpoints(PodSettings settings) => settings.Backends.Select(b => new IPEndPoint(IPAddress.Loopback, b.Port));

    public string[] ToArguments()
    {
        var args = new List<string>
        {
            "fleet-pod", Backend ? "backend" : "frontend", Index.ToString(CultureInfo.InvariantCulture), Secret, Bundle ?? "-",
            Ms(Poll), Ms(RootHandover), Ms(DrainGrace), Ms(ProbeEvery), Ms(FrameEvery),
        };
        args.AddRange(Backends.Select(b => $"{b.Name}@{b.Port}"));
        return [.. args];
    }

    public static PodSettings Parse(string[] args) => new(
        args[0] == "backend",
        int.Parse(args[1], CultureInfo.InvariantCulture),
        args[2],
        args[3] == "-" ? null : args[3],
        FromMs(args[4]),
        FromMs(args[5]),
        FromMs(args[6]),
        FromMs(args[7]),
        FromMs(args[8]),
        [.. args[9..].Select(b => (b[..b.IndexOf('@', StringComparison.Ordinal)], int.Parse(b[(b.IndexOf('@', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture)))]);

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private static TimeSpan FromMs(string s) => TimeSpan.FromMilliseconds(long.Parse(s, CultureInfo.InvariantCulture));
}

/// <summary>What a pod reports when it stops: its last line on stdout, as JSON.</summary>
internal sealed class PodReport
{
    public string Pod { get; set; } = string.Empty;

    /// <summary>Frontends: handshakes tried (links and probes), and those that failed (a HandshakeException, at connect or at the first read).</summary>
    public long Handshakes { get; set; }

    public long FailedHandshakes { get; set; }

    public double SlowestConnectMs { get; set; }

    /// <summary>Connections asked to drain on this side.</summary>
    public long Drains { get; set; }

    public long Reconnects { get; set; }

    public long HandOvers { get; set; }

    /// <summary>Frontends: frames sent per stream ("frontend-i/backend-j"). Backends: distinct frames received and checked per stream.</summary>
    public Dictionary<string, long> Frames { get; set; } = [];

    /// <summary>Backends: frames whose payload did not check, or that skipped sequence numbers.</summary>
    public long Corrupt { get; set; }

    public long Gaps { get; set; }

    /// <summary>Backends: handshakes the listener refused.</summary>
    public long Refused { get; set; }

    public List<string> Errors { get; set; } = [];
}
