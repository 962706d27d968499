using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Broker.Transport.Hosting.Tests.Support;

/// <summary>
/// A logger factory whose records a <see cref="FakeLogCollector"/> keeps, and a meter factory of the test's
/// own, so the measurements of parallel tests never mix: what the transport's options take in production.
/// </summary>
internal sealed class Telemetry : IDisposable
{
    private readonly ServiceProvider _services;

    public Telemetry()
    {
        _services = new ServiceCollection()
            .AddMetrics()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace))
            .AddFakeLogging()
            .BuildServiceProvider();
        Loggers = _services.GetRequiredService<ILoggerFactory>();
        Meters = _services.GetRequiredService<IMeterFactory>();
        Logs = _services.GetFakeLogCollector();
    }

    public ILoggerFactory Loggers { get; }

    public IMeterFactory Meters { get; }

    public FakeLogCollector Logs { get; }

    public MetricCollector<T> Collect<T>(string instrument, TimeProvider? time = null)
        where T : struct
        => new(Meters, "Broker.Transport", instrument, time);

    /// <summary>The records with event id <paramref name="id"/>.</summary>
    public IReadOnlyList<FakeLogRecord> Events(int id) => [.. Logs.GetSnapshot().Where(r => r.Id.Id == id)];

    /// <summary>Waits (hang guard only) until <paramref name="count"/> records with event id <paramref name="id"/> were logged.</summary>
    public async Task<IReadOnlyList<FakeLogRecord>> EventsAsync(int id, int count = 1)
    {
        var deadline = DateTime.UtcNow + Guard.HangTimeout;
        while (true)
        {
            var events = Events(id);
            if (events.Count >= count || DateTime.UtcNow > deadline)
            {
                return events;
            }

            await Task.Delay(20);
        }
    }

    public void Dispose() => _services.Dispose();
}

internal static class MeasurementExtensions
{
    /// <summary>The sum of the values whose tags include all of <paramref name="tags"/>.</summary>
    public static T Sum<T>(this IEnumerable<CollectedMeasurement<T>> measurements, params (string Key, object? Value)[] tags)
        where T : struct, System.Numerics.INumber<T>
        => measurements.Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value))).Aggregate(T.Zero, (sum, m) => sum + m.Value);

    /// <summary>The measurements whose tags include all of <paramref name="tags"/>.</summary>
    public static List<CollectedMeasurement<T>> With<T>(this IEnumerable<CollectedMeasurement<T>> measurements, params (string Key, object? Value)[] tags)
        where T : struct
        => [.. measurements.Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))];

    public static string? State(this FakeLogRecord record, string key) => record.GetStructuredStateValue(key);
}
