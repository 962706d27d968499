using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Columns that put a batch benchmark's median per byte and per frame, from the batch its <c>Payload</c>
/// parameter names (<see cref="Payloads.Get"/>): what <see cref="FrameSizeBenchmarks"/> reads as throughput.
/// </summary>
internal sealed class BatchColumn : IColumn
{
    private readonly Func<Summary, BenchmarkCase, PayloadSet, string> _value;

    private BatchColumn(string name, string legend, Func<Summary, BenchmarkCase, PayloadSet, string> value)
        => (ColumnName, Legend, _value) = (name, legend, value);

    /// <summary>Frames in one operation's batch.</summary>
    public static BatchColumn Frames { get; } = new("Frames/op", "Frames (messages) in one operation's batch", (_, _, set) => Format(set.Frames));

    /// <summary>Payload MB (10^6 bytes) per second from the median.</summary>
    public static BatchColumn MegabytesPerSecond { get; } = new(
        "MB/s", "Payload megabytes (10^6 bytes) per second, from the median time per batch", (summary, bench, set) => Median(summary, bench) is double ns ? Format(set.Bytes * 1000 / ns) : "?");

    /// <summary>The median time per batch divided by its frames.</summary>
    public static BatchColumn NanosecondsPerFrame { get; } = new(
        "ns/frame", "Median time per batch divided by the frames in it", (summary, bench, set) => Median(summary, bench) is double ns ? Format(ns / set.Frames) : "?");

    /// <summary>Bytes allocated per batch (MemoryDiagnoser) divided by its frames.</summary>
    public static BatchColumn AllocatedPerFrame { get; } = new(
        "Alloc/frame", "Managed bytes allocated per batch (MemoryDiagnoser) divided by the frames in it", AllocatedPerFrameValue);

    public string Id => nameof(BatchColumn) + ColumnName;

    public string ColumnName { get; }

    public string Legend { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        => benchmarkCase.Parameters[nameof(FrameSizeBenchmarks.Payload)] is string payload ? _value(summary, benchmarkCase, Payloads.Get(payload)) : "?";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static double? Median(Summary summary, BenchmarkCase benchmarkCase)
        => summary[benchmarkCase]?.ResultStatistics?.Median is double median and > 0 ? median : null;

    private static string AllocatedPerFrameValue(Summary summary, BenchmarkCase benchmarkCase, PayloadSet set)
        => summary[benchmarkCase]?.GcStats.GetBytesAllocatedPerOperation(benchmarkCase) is long bytes
            ? (bytes / (double)set.Frames).ToString("N1", CultureInfo.InvariantCulture)
            : "?";

    private static string Format(double value) => value.ToString(value < 10 ? "N2" : "N0", CultureInfo.InvariantCulture);
}
