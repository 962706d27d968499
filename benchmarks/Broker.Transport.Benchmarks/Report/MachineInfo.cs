using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>The machine a report ran on, as much as a process can read of it, and how loaded it was.</summary>
/// <param name="Cpu">The CPU model (<c>/proc/cpuinfo</c>), or the architecture where that is not readable.</param>
/// <param name="LogicalCores">Logical cores this process may use.</param>
/// <param name="Os">The operating system.</param>
/// <param name="Runtime">The .NET runtime.</param>
/// <param name="OpenSsl">The OpenSSL version SslStream runs on (Linux), or "n/a".</param>
/// <param name="LoadAverageBefore">The 1-minute load average when the report started, or null where unknown.</param>
internal sealed record MachineInfo(string Cpu, int LogicalCores, string Os, string Runtime, string OpenSsl, double? LoadAverageBefore)
{
    /// <summary>The 1-minute load average when the report ended.</summary>
    public double? LoadAverageAfter { get; init; }

    /// <summary>Reads the machine now.</summary>
    public static MachineInfo Read() => new(ReadCpu(), Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, ReadOpenSsl(), LoadAverage());

    /// <summary>The 1-minute load average from <c>/proc/loadavg</c>, or null where there is none.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>One line for people: "Intel Xeon ..., 2 logical cores, Debian ..., .NET 10.0.0, OpenSSL 3.0.19".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Cpu}, {LogicalCores} logical cores, {Os}, {Runtime}, {OpenSsl}");

    /// <summary>The load averages, for the note on spread.</summary>
    public string Load() => string.Create(
        CultureInfo.InvariantCulture,
        $"load average (1 min) {LoadAverageBefore?.ToString("F2", CultureInfo.InvariantCulture) ?? "?"} at the start{(LoadAverageAfter is double after ? $", {after.ToString("F2", CultureInfo.InvariantCulture)} at the end" : string.Empty)}");

    private static string ReadCpu()
    {
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (model is not null)
            {
                return model[(model.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string ReadOpenSsl()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "OpenSSL n/a";
        }

        // 0xMNN00PP0L for OpenSSL 3: major, minor, patch.
        var version = SafeEvpPKeyHandle.OpenSslVersion;
        return string.Create(CultureInfo.InvariantCulture, $"OpenSSL {(version >> 28) & 0xF}.{(version >> 20) & 0xFF}.{(version >> 4) & 0xFF}");
    }
}
