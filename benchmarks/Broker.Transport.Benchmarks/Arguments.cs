using System.Globalization;
using Broker.Transport.Configuration;

namespace Broker.Transport.Benchmarks;

/// <summary>The options of the commands that run outside BenchmarkDotNet (<c>soak</c>, <c>fleet</c>): <c>--name value</c> pairs.</summary>
internal static class Arguments
{
    /// <summary>A duration in the config file's form (<c>90s</c>, <c>5m</c>, <c>1h30m</c>), or <paramref name="fallback"/>.</summary>
    public static TimeSpan Duration(string[] args, string name, TimeSpan fallback)
        => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? GoDuration.Parse(args[i + 1]) : fallback;

    public static long Number(string[] args, string name, long fallback)
        => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? long.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

    public static string? Text(string[] args, string name)
        => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
