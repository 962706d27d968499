using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// Adds a MB/s column to the throughput benchmarks, so the table reads as throughput too, and the floor
/// column, which says whether each declared floor held in this run.
/// </summary>
public sealed class ThroughputConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public ThroughputConfig() => AddColumn(new ThroughputColumn(), new FloorColumn());
}

/// <summary>
/// Payload megabytes (10^6 bytes) per second, from the median time per operation and the bytes one
/// operation moves, which the benchmark's category says (64 KiB or 256 B).
/// </summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Payload megabytes (10^6 bytes) per second, from the median time per operation";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var median = summary[benchmarkCase]?.ResultStatistics?.Median;
        var bytes = BytesPerOperation(benchmarkCase);
        return median is > 0 && bytes > 0
            ? (bytes * 1000 / median.Value).ToString("N0", CultureInfo.InvariantCulture)
            : "?";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static double BytesPerOperation(BenchmarkCase benchmarkCase)
    {
        var categories = benchmarkCase.Descriptor.Categories;
        return categories.Contains(ThroughputBenchmarks.Bulk) ? 64 * 1024
            : categories.Contains(ThroughputBenchmarks.Small) ? 256
            : 0;
    }
}
