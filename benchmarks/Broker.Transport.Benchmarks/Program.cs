using BenchmarkDotNet.Running;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// The first argument picks a command that runs outside BenchmarkDotNet:
/// <c>report</c> measures the cost of encryption and writes its files (see <see cref="Report.EncryptionCostReport"/>);
/// <c>demo</c> runs the end-to-end demo over loopback (see <see cref="Demo"/>);
/// <c>soak</c> runs mixed load over encrypted connections while the issuer rotates leaves and roots, and fails
/// unless every frame came back intact (see <see cref="Soak"/>);
/// <c>allocs</c> probes the throughput workloads in-process (see <see cref="AllocationProbe"/>), and
/// <c>allocs connections</c> the bytes per accepted and per connected connection (see <see cref="ConnectionAllocationProbe"/>);
/// <c>pingpong</c> times round trips outside BenchmarkDotNet (see <see cref="LatencyProbe"/>);
/// <c>handshakes</c> checks TLS resumption on the wire and times Rsa8192 (see <see cref="HandshakeProbe"/>);
/// <c>suites</c> compares the TLS 1.3 cipher suites in interleaved rounds (see <see cref="CipherSuiteProbe"/>);
/// <c>fleet</c> runs many pods as processes under certificate rotations (see <see cref="Fleet.FleetCommand"/>).
/// Anything else goes to BenchmarkDotNet's switcher (for example <c>--filter '*Throughput*' --job short</c>,
/// or <c>--filter '*' --job dry --inProcess</c> in CI). The exit code is non-zero when a benchmark fails or a
/// filter matches none, so a dry run in CI catches rot.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "report")
        {
            return await Report.EncryptionCostReport.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "demo")
        {
            return await Demo.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "allocs")
        {
            return await AllocationProbe.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == ConnectionAllocationProbe.SideCommand)
        {
            return await ConnectionAllocationProbe.SideAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "pingpong")
        {
            return await LatencyProbe.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "soak") return await Soak.RunAsync(args[1..]);

        if (args.Length > 0 && args[0] == "fleet")
        {
            return await Fleet.FleetCommand.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == Fleet.FleetPod.Command)
        {
            return await Fleet.FleetPod.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "suites")
        {
            return await CipherSuiteProbe.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "handshakes")
        {
            return await HandshakeProbe.RunAsync(args[1..]);
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToList();
        if (summaries.Count == 0 && args.Contains("--filter") && !args.Contains("--list"))
        {
            Console.Error.WriteLine("No benchmark matched the filter.");
            return 1;
        }

        // A benchmark that threw, or failed to build, must fail the run so CI notices it rot.
        var failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }
}
