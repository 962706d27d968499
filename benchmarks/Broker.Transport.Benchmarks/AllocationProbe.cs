using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>allocs</c>: runs each throughput workload in this process, outside BenchmarkDotNet, and says its
/// wall-clock and CPU time per frame (the CPU time is the steadier figure on a shared machine), what it
/// allocates per frame and which types, from the runtime's allocation ticks (one sample per ~100 KB
/// allocated). A quick way to find what breaks the zero-allocation floor before a full benchmark run.
/// Arguments: the number of measured invocations (default 20), then a part of the workloads' names. Covers
/// <see cref="ThroughputBenchmarks"/> and <see cref="TlsThroughputBenchmarks"/>; a class none of whose
/// workloads match is not even set up. <c>allocs connections ...</c> measures bytes per connection instead
/// (see <see cref="ConnectionAllocationProbe"/>).
/// </summary>
internal static class AllocationProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "connections")
        {
            return await ConnectionAllocationProbe.RunAsync(args[1..]);
        }

        var invocations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        var filter = args.Length > 1 ? args[1] : string.Empty;
        IProbeWorkloads[] benches = [new ThroughputBenchmarks(), new TlsThroughputBenchmarks()];
        using var ticks = new AllocationTicks();
        foreach (var bench in benches)
        {
            var workloads = bench.Workloads().Where(w => w.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
            if (workloads.Count > 0)
            {
                await bench.SetupAsync();
                await ProbeAsync(workloads, invocations, ticks);
                await bench.CleanupAsync();
            }
        }

        return 0;
    }

    private static async Task ProbeAsync(List<ProbeWorkload> workloads, int invocations, AllocationTicks ticks)
    {
        foreach (var (name, run, ops) in workloads)
        {
            for (var i = 0; i < 5; i++)
            {
                await run(); // Warm up: JIT, pools, tiering.
            }

            ticks.Clear();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < invocations; i++)
            {
                await run();
            }

            clock.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var total = (double)invocations * ops;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{name,-34} {clock.Elapsed.TotalNanoseconds / total,9:F1} ns/op {cpu.TotalNanoseconds / total,9:F1} cpu-ns/op  {allocated / total,9:F2} B/op  (pool: {Sockets.PinnedBlockMemoryPool.Shared.RetainedBlocks} idle blocks)"));
            foreach (var (type, bytes) in ticks.Top(5))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    ~{bytes / total,9:F2} B/op  {type}"));
            }
        }
    }

    /// <summary>Listens to the runtime's GCAllocationTick events and adds up the sampled bytes per type.</summary>
    internal sealed class AllocationTicks : EventListener
    {
        private const int GCAllocationTick = 10;
        private readonly ConcurrentDictionary<string, long> _bytes = new();

        public void Clear() => _bytes.Clear();

        public IEnumerable<(string Type, long Bytes)> Top(int count)
            => _bytes.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value));

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventId != GCAllocationTick || eventData.Payload is null || eventData.PayloadNames is null)
            {
                return;
            }

            var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
            var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 100_000;
            _bytes.AddOrUpdate(type, amount, (_, sum) => sum + amount);
        }
    }
}

/// <summary>A benchmark class the probe can drive outside BenchmarkDotNet.</summary>
internal interface IProbeWorkloads
{
    Task SetupAsync();

    Task CleanupAsync();

    /// <summary>Each workload's name, one invocation, and the frames one invocation moves.</summary>
    IEnumerable<ProbeWorkload> Workloads();
}

/// <summary>One workload of a benchmark class: its name, one invocation, and the frames it moves.</summary>
internal readonly record struct ProbeWorkload(string Name, Func<ValueTask> Run, int Ops);
