using System.Globalization;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>Connection setup: handshakes per algorithm, full and resumed, and handshakes while rotating.</summary>
internal static partial class ReportMeasurements
{
    /// <summary>
    /// Per algorithm of <see cref="HandshakeAlgorithms"/>, rows for full and resumed handshakes (as
    /// <see cref="HandshakeBenchmarks"/> makes them: a backend name never used before, or always
    /// <c>localhost</c>), each next to a plaintext connect and to the naive SslStream pair doing the same;
    /// then a row for full Ec256 handshakes while the issuer renews both leaves every 20 ms.
    /// </summary>
    public static async Task<List<ReportRow>> ConnectAsync(ReportOptions options, ReportProgress progress)
    {
        var rows = new List<ReportRow>();
        await using var plaintext = LoopbackPairs.ListenPlaintext();
        var plaintextConnector = LoopbackPairs.PlaintextConnector();
        Func<ValueTask> disabled = () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(plaintextConnector, plaintext));
        foreach (var algorithm in HandshakeAlgorithms)
        {
            var (backend, frontend) = TlsLoopback.SharedKeyPki(algorithm);
            await using var listener = TlsLoopback.Listen(backend);
            var localhost = TlsLoopback.Connector(frontend);
            var full = new RowSamples(Group.Connect, $"{algorithm}, full handshake", RowKind.Connect);
            var resumed = new RowSamples(Group.Connect, $"{algorithm}, resumed handshake", RowKind.Connect);
            var (backendCredentials, frontendCredentials) = (backend.GetCurrent(), frontend.GetCurrent());
            var operations = new (RowSamples Row, ThroughputPath Path, Func<ValueTask> Connect)[]
            {
                (full, ThroughputPath.Disabled, disabled),
                (full, ThroughputPath.Enabled, () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(TlsLoopback.Connector(frontend, TlsLoopback.FreshName()), listener))),
                (full, ThroughputPath.SslStream, () => NaiveConnectAsync(backendCredentials, frontendCredentials, TlsLoopback.FreshName())),
                (resumed, ThroughputPath.Disabled, disabled),
                (resumed, ThroughputPath.Enabled, () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(localhost, listener))),
                (resumed, ThroughputPath.SslStream, () => NaiveConnectAsync(backendCredentials, frontendCredentials, TlsLoopback.ServerIdentity)),
            };

            // Warm-up, not kept; it also leaves the session tickets the resumed connects use.
            foreach (var (_, _, connect) in operations)
            {
                await connect();
                await connect();
            }

            for (var round = 0; round < options.Rounds; round++)
            {
                foreach (var i in Enumerable.Range(0, operations.Length).Select(i => (i + round) % operations.Length))
                {
                    var (row, path, connect) = operations[i];
                    row.Add(path, await SecondsPerOperationAsync(connect, options.Connects, TimeSpan.Zero));
                }

                progress.Step(Phase.Connect, string.Create(CultureInfo.InvariantCulture, $"{algorithm}, round {round + 1}/{options.Rounds}"));
            }

            rows.Add(full.ToRow());
            rows.Add(resumed.ToRow());
        }

        rows.Add(await RotationAsync(options, progress, disabled));
        return rows;
    }

    /// <summary>Full Ec256 handshakes on the issuer's leaves while both are renewed every 20 ms, next to the same with the leaves steady.</summary>
    private static async Task<ReportRow> RotationAsync(ReportOptions options, ReportProgress progress, Func<ValueTask> disabled)
    {
        using var issuer = TlsLoopback.StartIssuer();
        await using var listener = TlsLoopback.Listen(issuer.Backend);
        Func<ValueTask> handshake = () => new ValueTask(TlsLoopback.ConnectAndAbortAsync(TlsLoopback.Connector(issuer.Frontend, TlsLoopback.FreshName()), listener));
        var rotating = new RowSamples(Group.Connect, string.Create(CultureInfo.InvariantCulture, $"Ec256, full handshake, leaves rotating every {RotationBenchmarks.RotationIntervalMs} ms"), RowKind.Connect);
        var steady = new List<double>();
        var (rotations, connects) = (0, 0);
        Func<ValueTask> counted = () =>
        {
            connects++;
            return handshake();
        };

        // The rotating measurement lasts at least three renewal intervals, however few connects the options ask
        // for (the quick run's two take about 12 ms), so the leaves really change under it.
        var rotatingAtLeast = TimeSpan.FromMilliseconds(3 * RotationBenchmarks.RotationIntervalMs);
        await handshake();
        for (var round = 0; round < options.Rounds; round++)
        {
            rotating.Add(ThroughputPath.Disabled, await SecondsPerOperationAsync(disabled, options.Connects, TimeSpan.Zero));
            steady.Add(await SecondsPerOperationAsync(handshake, options.Connects, TimeSpan.Zero));
            using (var stop = new CancellationTokenSource())
            {
                var rotation = RotationBenchmarks.RotateAsync(issuer, stop.Token);
                rotating.Add(ThroughputPath.Enabled, await SecondsPerOperationAsync(counted, options.Connects, rotatingAtLeast));
                await stop.CancelAsync();
                rotations += (await rotation).Rotations;
            }

            progress.Step(Phase.Connect, string.Create(CultureInfo.InvariantCulture, $"rotation, round {round + 1}/{options.Rounds} ({rotations} rotations so far, no handshake failed)"));
        }

        var steadyMs = Stat.Of(steady).Median * 1e3;
        var renewed = rotations == 0
            ? $"the issuer did not get to renew the leaves during these {connects} connects (so this row measured steady leaves), none of which failed"
            : $"the issuer renewed both leaves {rotations} times during {connects} connects, none of which failed";
        return rotating.ToRow(string.Create(
            CultureInfo.InvariantCulture,
            $"{renewed}; the same full handshakes with the leaves steady took {steadyMs:F2} ms (median), measured in the same rounds"));
    }

    /// <summary>The naive baseline's connection: a socket pair and an SslStream on each end, mutual TLS 1.3, then closed.</summary>
    private static async ValueTask NaiveConnectAsync(CertificateCredentials backend, CertificateCredentials frontend, string targetHost)
    {
        var (client, server) = await TlsLoopback.ConnectSslStreamsAsync(backend, frontend, targetHost);
        await client.DisposeAsync();
        await server.DisposeAsync();
    }
}
