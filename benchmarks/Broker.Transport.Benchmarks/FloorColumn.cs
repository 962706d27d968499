using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// A floor a benchmark must hold against another benchmark of the same run: at least
/// <see cref="MinRatio"/> of <see cref="Reference"/>'s throughput, from the two medians.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class ThroughputFloorAttribute(string reference, double minRatio) : Attribute
{
    /// <summary>The method name of the benchmark compared against.</summary>
    public string Reference { get; } = reference;

    /// <summary>The least throughput allowed, as a multiple of the reference's.</summary>
    public double MinRatio { get; } = minRatio;
}

/// <summary>
/// A floor on latency against another benchmark of the same run: this benchmark's median (P50) at most
/// <see cref="MaxExtraMicroseconds"/> above <see cref="Reference"/>'s.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class MedianLatencyFloorAttribute(string reference, double maxExtraMicroseconds) : Attribute
{
    /// <summary>The method name of the benchmark compared against.</summary>
    public string Reference { get; } = reference;

    /// <summary>How much slower this benchmark's median may be, in microseconds.</summary>
    public double MaxExtraMicroseconds { get; } = maxExtraMicroseconds;
}

/// <summary>
/// Says, for each benchmark that declares floors, the measured same-run comparison and whether the floor
/// held, so one table carries the verdict: "31.2x SslStream_256B_write_each (min 25): held".
/// </summary>
internal sealed class FloorColumn : IColumn
{
    public string Id => nameof(FloorColumn);

    public string ColumnName => "Floor";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Same-run floors: throughput as a multiple of the named benchmark's (medians), or the median's excess over it";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var method = benchmarkCase.Descriptor.WorkloadMethod;
        var verdicts = new List<string>();
        foreach (var floor in method.GetCustomAttributes<ThroughputFloorAttribute>())
        {
            verdicts.Add(Medians(summary, benchmarkCase, floor.Reference) is var (mine, theirs)
                ? Verdict(theirs / mine, floor.MinRatio, $"{theirs / mine:0.00}x {floor.Reference} (min {floor.MinRatio:0.##})")
                : $"{floor.Reference}: ?");
        }

        foreach (var floor in method.GetCustomAttributes<MedianLatencyFloorAttribute>())
        {
            verdicts.Add(Medians(summary, benchmarkCase, floor.Reference) is var (mine, theirs)
                ? Verdict(floor.MaxExtraMicroseconds * 1000 - (mine - theirs), 0, $"P50 {(mine - theirs) / 1000:+0.0;-0.0} us vs {floor.Reference} (max +{floor.MaxExtraMicroseconds:0.#})")
                : $"{floor.Reference}: ?");
        }

        return verdicts.Count == 0 ? "-" : string.Join("; ", verdicts);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static string Verdict(double value, double min, string text)
        => string.Create(CultureInfo.InvariantCulture, $"{text}: {(value >= min ? "held" : "MISSED")}");

    /// <summary>The medians of this case and of the named case with the same job and parameters, in nanoseconds.</summary>
    private static (double Mine, double Theirs)? Medians(Summary summary, BenchmarkCase benchmarkCase, string reference)
    {
        var other = summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.WorkloadMethod.Name == reference
            && c.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo
            && c.Parameters.DisplayInfo == benchmarkCase.Parameters.DisplayInfo);
        var mine = summary[benchmarkCase]?.ResultStatistics;
        var theirs = other is null ? null : summary[other]?.ResultStatistics;
        return mine is null || theirs is null || mine.Median <= 0 ? null : (mine.Median, theirs.Median);
    }
}
