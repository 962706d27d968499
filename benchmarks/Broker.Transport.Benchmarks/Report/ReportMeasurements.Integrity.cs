using System.Globalization;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>What the integrity check saw in one mode.</summary>
/// <param name="Mode">Disabled or Enabled.</param>
/// <param name="Frames">Frames sent.</param>
/// <param name="Bytes">Payload bytes sent (each way).</param>
/// <param name="Verified">Frames that came back byte for byte.</param>
/// <param name="Mismatch">The first difference, or null.</param>
internal sealed record IntegrityResult(string Mode, int Frames, long Bytes, int Verified, string? Mismatch)
{
    /// <summary>Whether every frame came back intact.</summary>
    public bool Ok => Mismatch is null && Verified == Frames;
}

/// <summary>The integrity check: before measuring, both modes echo the workloads' payloads and every byte is compared.</summary>
internal static partial class ReportMeasurements
{
    /// <summary>
    /// Sends the mixed batch (up to 1 MiB frames) and the small messages of the demo over a Disabled and an
    /// Enabled connection; the backend echoes every frame and the frontend compares it with what it sent.
    /// </summary>
    public static async Task<List<IntegrityResult>> IntegrityAsync(ReportOptions options, ReportProgress progress)
    {
        byte[][] messages = [.. Payloads.Get(Payloads.Mixed, options.Shrink).Batch, .. Telemetry.Messages(options.Quick ? 200 : 2000, seed: 2025)];
        var bytes = messages.Sum(m => (long)m.Length);
        using var issuer = TlsLoopback.StartIssuer();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var results = new List<IntegrityResult>();
        foreach (var mode in new[] { "Disabled", "Enabled" })
        {
            var (listener, client, server) = mode == "Enabled" ? await TlsLoopback.ConnectTransportAsync(issuer) : await LoopbackPairs.ConnectTransportAsync();
            await using (listener)
            await using (client)
            await using (server)
            {
                var (_, verified, mismatch) = await Demo.EchoCheckAsync(client, server, messages, timeout.Token);
                var result = new IntegrityResult(mode, messages.Length, bytes, verified, mismatch);
                results.Add(result);
                progress.Step(Phase.Integrity, string.Create(CultureInfo.InvariantCulture, $"{mode}: {verified:N0} of {messages.Length:N0} frames ({bytes / 1e6:F1} MB) echoed intact"));
            }
        }

        return results;
    }
}
