using System.Collections.Concurrent;
using System.Globalization;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// What one operation of the frame-size workloads sends: a batch of Bogus-made telemetry payloads of one
/// size (or of the mixed spread), the same bytes in the BenchmarkDotNet suite and in the report.
/// </summary>
/// <param name="Name">The size's name: <c>64B</c> ... <c>1MiB</c>, or <c>mixed</c>.</param>
/// <param name="Batch">The payloads, in sending order; a few distinct arrays repeated.</param>
internal sealed record PayloadSet(string Name, byte[][] Batch)
{
    /// <summary>Payload bytes in the batch.</summary>
    public long Bytes { get; } = Batch.Sum(p => (long)p.Length);

    /// <summary>Frames (messages) in the batch.</summary>
    public int Frames => Batch.Length;

    /// <summary>A label for tables: "64 B frames", "mixed sizes".</summary>
    public string Label => Name == Payloads.Mixed ? "mixed sizes" : $"{Name.TrimEnd('B', 'i', 'K', 'M')} {Name.TrimStart('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')} frames";
}

/// <summary>The payload sizes of the issue (64 B to 1 MiB) and the mixed spread, and their batches.</summary>
internal static class Payloads
{
    /// <summary>The name of the mixed-size workload.</summary>
    public const string Mixed = "mixed";

    /// <summary>Every workload's name, smallest first.</summary>
    public static readonly string[] Names = ["64B", "256B", "1KiB", "16KiB", "64KiB", "1MiB", Mixed];

    /// <summary>Frames in a mixed batch: about 5 MB with the spread's large chunks.</summary>
    private const int MixedFrames = 512;

    private static readonly ConcurrentDictionary<(string, int), PayloadSet> Cache = new();

    /// <summary>The payload size a name stands for, or 0 for <see cref="Mixed"/>.</summary>
    public static int SizeOf(string name) => name switch
    {
        Mixed => 0,
        _ when name.EndsWith("MiB", StringComparison.Ordinal) => int.Parse(name[..^3], CultureInfo.InvariantCulture) * 1024 * 1024,
        _ when name.EndsWith("KiB", StringComparison.Ordinal) => int.Parse(name[..^3], CultureInfo.InvariantCulture) * 1024,
        _ when name.EndsWith('B') => int.Parse(name[..^1], CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"Unknown payload '{name}'; one of {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>
    /// The batch for <paramref name="name"/>: enough frames to move about 4 MiB (at least 16, at most 16,384),
    /// divided by <paramref name="shrink"/> for quick runs; made once per process.
    /// </summary>
    public static PayloadSet Get(string name, int shrink = 1) => Cache.GetOrAdd((name, shrink), static key => Create(key.Item1, key.Item2));

    private static PayloadSet Create(string name, int shrink)
    {
        var size = SizeOf(name);
        if (size == 0)
        {
            return new PayloadSet(name, Telemetry.Mixed(Math.Max(8, MixedFrames / shrink), seed: 31));
        }

        var frames = Math.Max(4, Math.Clamp(4 * 1024 * 1024 / size, 16, 16 * 1024) / shrink);
        var distinct = Math.Clamp(2 * 1024 * 1024 / size, 2, 64);
        var payloads = Telemetry.FixedSize(Math.Min(distinct, frames), size, seed: 12);
        return new PayloadSet(name, [.. Enumerable.Range(0, frames).Select(i => payloads[i % payloads.Length])]);
    }
}
